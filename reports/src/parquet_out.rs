//! `metrics.parquet`: every sample of every series in one Snappy-compressed Parquet file
//! that pandas (`read_parquet`), DuckDB (`read_parquet('metrics.parquet')`) and Polars open
//! as it is. Same columns and row order as `metrics.csv`:
//!
//! | column | Parquet type |
//! |---|---|
//! | `entity_kind`, `entity`, `counter`, `instance`, `unit` | UTF-8 strings (dictionary-encoded) |
//! | `timestamp` | INT64 `TIMESTAMP(MILLIS, UTC)` |
//! | `offset_s`, `value` | INT64 (`value` raw, as `QueryPerf` returned it) |
//!
//! Written one row group per about [`ROW_GROUP_ROWS`] samples, whole series at a time, so
//! memory stays bounded whatever the run's size; the file holds no time or path of its own,
//! so equal outcomes give equal bytes.

use std::io::Write;
use std::sync::Arc;

use parquet::basic::{Compression, Encoding};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;
use scenarios::{Point, RunOutcome, Series};

/// Samples per row group (about 16 MB of samples held while one is written).
pub const ROW_GROUP_ROWS: usize = 1 << 20;

const SCHEMA: &str = "
message metrics {
  REQUIRED BYTE_ARRAY entity_kind (UTF8);
  REQUIRED BYTE_ARRAY entity (UTF8);
  REQUIRED BYTE_ARRAY counter (UTF8);
  REQUIRED BYTE_ARRAY instance (UTF8);
  REQUIRED INT64 timestamp (TIMESTAMP(MILLIS,true));
  REQUIRED INT64 offset_s;
  REQUIRED INT64 value;
  REQUIRED BYTE_ARRAY unit (UTF8);
}
";

/// Writes `metrics.parquet` for `outcome` to `out`.
pub fn write_metrics_parquet<W: Write + Send>(
    outcome: &RunOutcome,
    out: W,
) -> Result<(), ParquetError> {
    let schema = Arc::new(parse_message_type(SCHEMA)?);
    // Times grow by one interval per row: delta encoding makes them nearly free.
    let delta = |b: parquet::file::properties::WriterPropertiesBuilder, col: &str| {
        b.set_column_dictionary_enabled(ColumnPath::from(col), false)
            .set_column_encoding(ColumnPath::from(col), Encoding::DELTA_BINARY_PACKED)
    };
    let props = delta(
        delta(
            WriterProperties::builder().set_compression(Compression::SNAPPY),
            "timestamp",
        ),
        "offset_s",
    )
    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
    .build();
    let mut writer = SerializedFileWriter::new(out, schema, Arc::new(props))?;
    let start_ms = outcome.meta.start.unix_seconds.saturating_mul(1000);
    let mut group: Vec<(&Series, Vec<Point>)> = Vec::new();
    let mut rows = 0usize;
    for s in &outcome.series {
        let points = s
            .points
            .read()
            .map_err(|e| ParquetError::External(e.into()))?;
        rows += points.len();
        group.push((s, points));
        if rows >= ROW_GROUP_ROWS {
            write_group(&mut writer, &group, start_ms)?;
            group.clear();
            rows = 0;
        }
    }
    if !group.is_empty() || outcome.series.is_empty() {
        write_group(&mut writer, &group, start_ms)?;
    }
    writer.close()?;
    Ok(())
}

/// One row group: the series of `group` in order, column by column.
fn write_group<W: Write + Send>(
    writer: &mut SerializedFileWriter<W>,
    group: &[(&Series, Vec<Point>)],
    start_ms: i64,
) -> Result<(), ParquetError> {
    let mut rg = writer.next_row_group()?;
    let mut column = 0usize;
    while let Some(mut col) = rg.next_column()? {
        match column {
            0..=3 | 7 => {
                let w = col.typed::<ByteArrayType>();
                for (s, points) in group {
                    let text = match column {
                        0 => s.kind.as_str(),
                        1 => &s.entity,
                        2 => &s.counter,
                        3 => &s.instance,
                        _ => &s.unit,
                    };
                    let v = ByteArray::from(text.as_bytes().to_vec());
                    let values = vec![v; points.len()];
                    w.write_batch(&values, None, None)?;
                }
            }
            _ => {
                let w = col.typed::<Int64Type>();
                for (_, points) in group {
                    let values: Vec<i64> = points
                        .iter()
                        .map(|p| {
                            let offset = i64::try_from(p.offset_s).unwrap_or(i64::MAX);
                            match column {
                                4 => start_ms.saturating_add(offset.saturating_mul(1000)),
                                5 => offset,
                                _ => p.value,
                            }
                        })
                        .collect();
                    w.write_batch(&values, None, None)?;
                }
            }
        }
        col.close()?;
        column += 1;
    }
    rg.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;

    #[test]
    fn schema_parses() {
        let t = parse_message_type(SCHEMA).expect("schema");
        assert_eq!(t.get_fields().len(), 8);
    }

    #[test]
    fn an_empty_run_is_a_valid_file() {
        let o = RunOutcome {
            meta: scenarios::Metadata {
                name: "x".into(),
                description: String::new(),
                seed: 1,
                start: scenarios::StartTime {
                    unix_seconds: 0,
                    rfc3339: "1970-01-01T00:00:00Z".into(),
                },
                duration: std::time::Duration::from_secs(60),
                sample_interval: std::time::Duration::from_secs(20),
            },
            scenario_hash: "h".into(),
            vicbed_version: "0".into(),
            vchs: Vec::new(),
            entities: Vec::new(),
            series: vec![Series {
                kind: scenarios::EntityKind::Container,
                entity: "c".into(),
                counter: "cpu.ready.summation".into(),
                instance: String::new(),
                unit: "millisecond".into(),
                points: [(20, 5), (40, 7)]
                    .into_iter()
                    .map(|(offset_s, value)| Point { offset_s, value })
                    .collect(),
            }],
            steps: Vec::new(),
            verdicts: Vec::new(),
            runs: Vec::new(),
        };
        let file = tempfile::tempfile().expect("tempfile");
        write_metrics_parquet(&o, file.try_clone().expect("clone")).expect("write");
        let reader = SerializedFileReader::new(file).expect("read");
        let rows: Vec<_> = reader
            .get_row_iter(None)
            .expect("rows")
            .map(|r| r.expect("row"))
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].get_string(1).expect("entity"), "c");
        assert_eq!(rows[1].get_long(6).expect("value"), 7);
        assert_eq!(rows[1].get_long(5).expect("offset"), 40);
    }
}
