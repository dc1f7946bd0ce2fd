//! The fuzz target's harness (`fuzz/harness/ticket.rs`), compiled here so every CI run
//! builds it, and run over a corpus of valid, broken and hostile tickets.

#[path = "../../../fuzz/harness/ticket.rs"]
mod ticket;

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
