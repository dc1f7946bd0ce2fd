//! The fuzz targets' harnesses (`fuzz/harness/ticket.rs`, `fuzz/harness/sql.rs`),
//! compiled here so every CI run builds them, and run over corpora of valid, broken and
//! hostile tickets and statements.

#[path = "../../../fuzz/harness/ticket.rs"]
mod ticket;

#[path = "../../../fuzz/harness/sql.rs"]
mod sql;

#[test]
fn the_fuzz_harness_holds_over_a_corpus() {
    let corpus: Vec<Vec<u8>> = vec![
        br#"{"param_type": "fuzz.Probe", "rows": 1, "tags": []}"#.to_vec(),
        br#"{"param_type": "fuzz.Probe", "rows": 13, "tags": []}"#.to_vec(),
        br#"{"param_type": "fuzz.Probe", "rows": -1, "tags": []}"#.to_vec(),
        br#"{"param_type": "fuzz.Probe", "rows": 1, "tags": [1]}"#.to_vec(),
        br#"{"param_type": "other", "rows": 1}"#.to_vec(),
        br#"{"param_type": 7}"#.to_vec(),
        br#"["param_type"]"#.to_vec(),
        b"{".to_vec(),
        Vec::new(),
        vec![0xff, 0xfe, 0x00],
        format!(
            r#"{{"param_type": "fuzz.Probe", "rows": 1, "tags": [], "label": "{}"}}"#,
            "x".repeat(100_000)
        )
        .into_bytes(),
        "[".repeat(10_000).into_bytes(),
    ];
    for ticket in &corpus {
        ticket::check(ticket);
    }
    // Every prefix of a valid ticket, and every one-byte change of it.
    let valid = br#"{"param_type": "fuzz.Probe", "rows": 12, "label": "a", "tags": ["b"]}"#;
    for end in 0..=valid.len() {
        ticket::check(&valid[..end]);
    }
    for at in 0..valid.len() {
        for byte in [b'"', b'}', b'0', 0x00, 0xc3] {
            let mut changed = valid.to_vec();
            changed[at] = byte;
            ticket::check(&changed);
        }
    }
}

#[test]
fn the_sql_fuzz_harness_holds_over_a_corpus() {
    let mut corpus: Vec<Vec<u8>> = [
        "SELECT * FROM fuzz_quotes(symbol => 'A')",
        "SELECT * FROM fuzz_quotes WHERE symbol = 'A' AND sides IN ('buy', 'sell') LIMIT 3",
        "SELECT depth AS d FROM \"fuzz.sql\".fuzz_quotes('A', ARRAY['x'], 2)",
        "SELECT * FROM fuzz_quotes WHERE symbol = ? AND depth = $2",
        "SELECT * FROM fuzz_quotes(symbol => 1e400)",
        "SELECT * FROM fuzz_quotes(symbol => -)",
        "SELECT * FROM fuzz_quotes WHERE symbol = 'A' OR symbol = 'B'",
        "SELECT * FROM fuzz_quotes LIMIT -1",
        "SELECT * FROM fuzz_quotes LIMIT 99999999999999999999999",
        "SELECT * FROM fuzz_quotes WHERE $0 = symbol",
        "SELECT * FROM fuzz_quotes WHERE symbol = $99999",
        "DROP TABLE fuzz_quotes",
        "",
        ";;;",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    corpus.push(
        format!(
            "SELECT * FROM fuzz_quotes WHERE symbol = {}'A'{}",
            "(".repeat(3000),
            ")".repeat(3000)
        )
        .into_bytes(),
    );
    corpus.push(vec![0xff, 0xfe, 0x00]);
    for statement in &corpus {
        sql::check(statement);
    }
    // The property's other half is reached: these plan.
    for planned in &corpus[..4] {
        let text = std::str::from_utf8(planned).unwrap();
        fastflight::sql::plan::plan(text, sql::catalog(), |_| true)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    // Every prefix of a valid statement, and every one-byte change of it.
    let valid =
        b"SELECT symbol AS s FROM fuzz.sql.fuzz_quotes WHERE symbol = 'A' AND depth = 2 LIMIT 5";
    for end in 0..=valid.len() {
        sql::check(&valid[..end]);
    }
    for at in 0..valid.len() {
        for byte in [b'\'', b'"', b'(', b'?', b'$', b'9', b' ', 0x00] {
            let mut changed = valid.to_vec();
            changed[at] = byte;
            sql::check(&changed);
        }
    }
}
