/* 随手拍: the phone's position, only when the user asks for it.
 *
 * The "Use my phone's position" button is hidden in the HTML and shown here, so without
 * JavaScript (or without geolocation) the page still works: the reporter chooses the grid
 * or writes an address. The browser asks for consent; nothing is sent until the form is.
 * Texts come translated from the button's data-* attributes. */
(function () {
  "use strict";

  var button = document.getElementById("use-location");
  var clear = document.getElementById("clear-location");
  var status = document.getElementById("location-status");
  if (!button || !clear || !status || !button.form || !("geolocation" in navigator)) {
    return;
  }
  var lat = button.form.elements.namedItem("lat");
  var lng = button.form.elements.namedItem("lng");
  if (!lat || !lng) {
    return;
  }

  function say(text) {
    status.textContent = text;
  }

  function forget() {
    lat.value = "";
    lng.value = "";
    clear.hidden = true;
  }

  button.hidden = false;
  clear.hidden = !(lat.value && lng.value);

  button.addEventListener("click", function () {
    button.disabled = true;
    say(button.dataset.locating);
    navigator.geolocation.getCurrentPosition(
      function (position) {
        lat.value = position.coords.latitude.toFixed(6);
        lng.value = position.coords.longitude.toFixed(6);
        clear.hidden = false;
        button.disabled = false;
        say(button.dataset.located.replace("{accuracy}", String(Math.round(position.coords.accuracy))));
      },
      function (error) {
        forget();
        button.disabled = false;
        say(error.code === error.PERMISSION_DENIED ? button.dataset.denied : button.dataset.unavailable);
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });

  clear.addEventListener("click", function () {
    forget();
    say(button.dataset.cleared);
  });
})();
