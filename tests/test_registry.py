import pytest

from bnnlab._registry import Registry


def test_registry_lazy_and_errors():
    reg = Registry("thing")
    reg.register("path-join", "os.path:join")

    @reg.register("double")
    def double(x):
        return 2 * x

    assert reg.available() == ["double", "path-join"]
    assert reg.get("double")(2) == 4
    import os.path

    assert reg.get("path-join") is os.path.join
    with pytest.raises(ValueError, match="unknown thing 'nope'; available: double, path-join"):
        reg.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("double", len)
