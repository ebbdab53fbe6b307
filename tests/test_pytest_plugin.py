"""The fixtures a user's own tests get wherever the project is installed (`pytest11`), used
from a test folder outside the project, in a pytest of its own (a process, as a user runs it)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

JOB_TESTS = '''
from pyspark.sql import functions as F


def sensor_counts(events):
    """The user's job: readings per one-minute window, with a 20-second watermark."""
    return (events.withWatermark("event_time", "20 seconds")
            .groupBy(F.window("event_time", "1 minute")).count())


def test_the_job_counts_what_the_answer_key_says(landed, spark_session):
    from generator.answers import load_truth

    folder = landed("sensor", files=6, rows_per_file=50, speed=30, disorder=5,
                    late_fraction=0.1, max_lateness=120)
    schema = ("device_id STRING, event_time TIMESTAMP, temperature DOUBLE, humidity DOUBLE, "
              "status STRING")
    query = (sensor_counts(spark_session.readStream.schema(schema).option("maxFilesPerTrigger", 1)
                           .csv(str(folder)))
             .writeStream.format("memory").queryName("counts").trigger(availableNow=True).start())
    query.awaitTermination()
    # the window's start as text, made by Spark in the session's time zone (UTC): collect()
    # would give a datetime in the machine's own zone
    start = F.date_format("window.start", "yyyy-MM-dd HH:mm:ss")
    got = dict(spark_session.table("counts").select(start, "count").collect())
    truth = {w["window_start"]: w["expected"] for w in load_truth(folder / "_truth.jsonl")
             if w["final"]}
    assert got == truth and len(truth) >= 3
    assert spark_session.conf.get("spark.sql.shuffle.partitions") == "2"


def test_the_same_seed_lands_the_same_files(landed, tmp_path):
    one, two = landed("person", files=2, seed=7), landed("person", files=2, seed=7)
    assert one != two and one.parent == two.parent == tmp_path
    assert [p.read_bytes() for p in sorted(one.glob("*.csv"))] == [
        p.read_bytes() for p in sorted(two.glob("*.csv"))]
    assert "2026-01-01" in next(landed("sensor", files=1).glob("*.csv")).read_text()


def test_a_wrong_option_is_the_command_line_s_message(landed):
    from generator.errors import UsageError
    import pytest

    with pytest.raises(UsageError, match="--late-fraction needs --max-lateness"):
        landed("sensor", late_fraction=0.1)
    with pytest.raises(UsageError, match="--start: "):
        landed("sensor", start="yesterday")
'''

OWN_FIXTURE = """
import pytest


@pytest.fixture(scope="session")
def spark_session():
    return "the user's own"


def test_the_user_s_own_fixture_wins(spark_session, landed):
    assert spark_session == "the user's own"
    assert len(list(landed("counter", files=2).glob("*.csv"))) == 2
"""


@pytest.mark.spark
@pytest.mark.slow
def test_the_fixtures_in_a_test_folder_of_one_s_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_job=JOB_TESTS)
    ran = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    ran.assert_outcomes(passed=3)
    own = pytester.mkpydir("own")
    (own / "conftest.py").write_text(OWN_FIXTURE.split("def test_")[0])
    (own / "test_own.py").write_text("def test_" + OWN_FIXTURE.split("def test_")[1])
    ran = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", str(own))
    ran.assert_outcomes(passed=1)
