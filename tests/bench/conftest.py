from tests.residents.conftest import tags  # noqa: F401 - the key-group tags fixture
