import pytest
from wfhelpers import make_workdir


@pytest.fixture
def workdir(tmp_path):
    return make_workdir(tmp_path / "wd")
