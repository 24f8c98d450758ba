"""The instruction-step table judges every step by the count rule, per context, in version order."""

from __future__ import annotations

from bulkinsert.analysis.instruction_steps import step_table
from bulkinsert.analysis.results import Figure

BENCHMARK = "client_instructions.ClientInstructions.track_instructions"


def _figure(sqlalchemy: str, psycopg2: str, value: float) -> Figure:
    return Figure(machine="m", benchmark=BENCHMARK, env_name=f"env-{sqlalchemy}-{psycopg2}", commit="c", date=1,
                  params=(("strategy", "orm_basic"), ("rows", "100")),
                  requirements=(("SQLAlchemy", sqlalchemy), ("psycopg2-binary", psycopg2), ("python", "3.11")),
                  value=value, unit="instructions")


def test_a_step_beyond_the_rule_is_marked_and_one_within_is_not() -> None:
    figures = [_figure("2.1.9", "2.9.5", 1_050_000), _figure("2.0.58", "2.9.5", 1_000_000),
               _figure("2.0.58", "2.9.13", 1_000_000), _figure("2.1.9", "2.9.13", 1_004_000)]
    table = step_table(figures).splitlines()
    assert table[0].startswith("| path | 2.0.58 → 2.1.9 | psycopg2-binary 2.9.5 → 2.9.13")
    (row,) = [line for line in table if line.startswith("| `orm_basic`")]
    assert "×1.050 ▲ / ×1.004 |" in row  # +5 % beyond psycopg2's share; +0.4 % within it
    assert "×1.000, ×0.956 ▼" in row
