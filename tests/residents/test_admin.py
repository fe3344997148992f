"""The archives in the admin: scoped, masked, validated through the rules, with history."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Permission

from residents.models import PersonalDataAccess, Resident
from tests.residents.factories import id_number


def test_household_list_is_scoped_and_masked(client, worker, homes):
    client.force_login(worker)
    response = client.get("/admin/residents/household/")
    assert response.status_code == 200
    shown = {h.pk for h in response.context["cl"].result_list}
    assert shown == {homes["h1"].pk, homes["h2"].pk}
    body = response.content.decode()
    assert "138****5678" in body
    assert "13812345678" not in body


def test_resident_change_page_never_shows_the_whole_number(client, staff, homes):
    client.force_login(staff)
    wang = homes["wang"]
    response = client.get(f"/admin/residents/resident/{wang.pk}/change/")
    assert response.status_code == 200
    assert wang.reveal_id_number() not in response.content.decode()
    assert wang.id_number_masked in response.content.decode()


def test_bad_id_number_is_a_form_error(client, staff, homes):
    client.force_login(staff)
    before = Resident.objects.count()
    number = id_number(datetime.date(1990, 4, 4), "male")
    response = client.post(
        "/admin/residents/resident/add/",
        {
            "household": homes["h1"].pk,
            "name": "新人",
            "gender": "male",
            "birth_date": "1991-04-04",
            "id_number": number,
            "relation": "child",
            "living_status": "resident",
        },
    )
    assert response.status_code == 200
    assert "birth_date" in response.context["adminform"].form.errors
    assert Resident.objects.count() == before
    response = client.post(
        "/admin/residents/resident/add/",
        {
            "household": homes["h1"].pk,
            "name": "新人",
            "gender": "male",
            "birth_date": "1990-04-04",
            "id_number": number,
            "relation": "child",
            "living_status": "resident",
        },
    )
    assert response.status_code == 302
    assert Resident.objects.get(name="新人").reveal_id_number() == number


def test_history_page(client, staff, homes):
    client.force_login(staff)
    response = client.get(f"/admin/residents/household/{homes['h1'].pk}/history/")
    assert response.status_code == 200


def test_access_log_only_for_auditors(client, staff, homes, make_user):
    client.force_login(staff)
    assert client.get("/admin/residents/personaldataaccess/").status_code == 403
    auditor = make_user("auditor")
    auditor.user_permissions.add(Permission.objects.get(codename="audit_personal_data"))
    PersonalDataAccess.objects.create(user=staff, resident=homes["wang"], fields="phone")
    client.force_login(auditor)
    response = client.get("/admin/residents/personaldataaccess/")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1


def test_worker_cannot_change_another_grid_household(client, worker, homes):
    client.force_login(worker)
    response = client.get(f"/admin/residents/household/{homes['h3'].pk}/change/")
    assert response.status_code == 302  # not in bob's queryset: the admin's "missing" redirect
