"""A real local Spark reads what the generator lands, as the seed programs read it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator import PERSON, RETAIL
from generator.files import FilesConfig, run

pytestmark = pytest.mark.spark


def struct(spark: Any, dataset: Any) -> Any:
    from pyspark.sql.types import StructType

    schema = StructType.fromJson(dataset.schema_json())
    # the JSON and DDL forms derived from the one declaration agree
    assert spark.createDataFrame([], dataset.ddl()).schema == schema
    return schema


def test_person_stream_one_file_per_batch(spark: Any, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    summary = run(FilesConfig(folder, PERSON, seed=4, rows_per_file=25, interval=0, files=4,
                              quiet=True))  # fmt: skip
    stream = (
        spark.readStream.schema(struct(spark, PERSON))
        .option("maxFilesPerTrigger", 1)
        .option("mode", "FAILFAST")  # a row that fails to parse fails the query
        .csv(str(folder))
    )
    assert stream.isStreaming
    query = (
        stream.writeStream.format("memory")
        .queryName("person_files")
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .trigger(availableNow=True)
        .start()
    )
    try:
        query.awaitTermination(120)
    finally:
        query.stop()
    assert query.exception() is None
    batches = [p["numInputRows"] for p in query.recentProgress if p["numInputRows"]]
    assert batches == [25, 25, 25, 25]  # maxFilesPerTrigger=1: one file per batch
    rows = spark.sql("SELECT * FROM person_files")
    assert rows.count() == summary.rows == 100
    nulls = rows.where(" OR ".join(f"{c} IS NULL" for c in PERSON.column_names)).count()
    assert nulls == 0
    assert rows.where("age < 0 OR age > 104").count() == 0


def test_retail_infers_the_same_types_as_the_real_files(
    spark: Any, tmp_path: Path, retail_sample: Path
) -> None:
    run(FilesConfig(tmp_path, RETAIL, seed=9, interval=0, files=6, quiet=True))

    def inferred(path: Path) -> list[tuple[str, str]]:
        df = spark.read.option("header", True).option("inferSchema", True).csv(str(path))
        return [(f.name, f.dataType.simpleString()) for f in df.schema.fields]

    real = inferred(retail_sample)
    assert inferred(tmp_path) == real
    assert [(f.name, f.dataType.simpleString()) for f in struct(spark, RETAIL).fields] == real
    # each generated day on its own, too: a day always holds a cancellation and a lettered code
    for day in sorted(tmp_path.glob("*.csv")):
        assert inferred(day) == real, day.name
