"""results.json: schema validation with precise errors, atomic writes, JSON conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlgrade import results
from dlgrade.errors import ResultsError
from dlgrade.results import TaskResult


def valid() -> dict:
    r = TaskResult(task="hw6.q1", metrics={"a.b": 1.0}, provenance={"profile": "quick", "seed": 0})
    r.add_table("t", ["x", "y"], [[1, "a"]])
    return results.to_jsonable(r.to_dict())


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("metrics"), "(top level)"),
    (lambda d: d["metrics"].update({"acc": [1, 2]}), "metrics/acc"),
    (lambda d: d.update(task="question one"), "task"),
    (lambda d: d["provenance"].update(profile="huge"), "provenance/profile"),
    (lambda d: d["tables"]["t"].pop("rows"), "tables/t"),
    (lambda d: d["figures"].update(f="/etc/passwd"), "figures/f"),
])
def test_schema_errors_name_the_field(mutate, field):
    d = valid()
    mutate(d)
    with pytest.raises(ResultsError) as e:
        results.validate(d)
    assert f"field {field}" in str(e.value)


def test_load_reports_bad_json_position(tmp_path):
    (tmp_path / "results.json").write_text('{"task": ')
    with pytest.raises(ResultsError, match="not valid JSON at line 1"):
        results.load(tmp_path)
    with pytest.raises(ResultsError, match="no such file"):
        results.load(tmp_path / "nowhere")


def test_table_rows_must_match_columns():
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        TaskResult(task="hw6.q1").add_table("t", ["a", "b"], [[1]])


def test_numpy_values_and_nan_become_json(tmp_path):
    r = TaskResult(task="hw6.q1", metrics={"x": np.float32(0.5), "n": np.int64(3), "bad": float("nan")},
                   provenance={"profile": "smoke", "seed": 0})
    path = results.save(r, tmp_path)
    data = json.loads(path.read_text())
    assert data["metrics"] == {"x": 0.5, "n": 3, "bad": None}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"], "no temporary files left behind"


def test_published_schema_is_valid_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(results.schema())
