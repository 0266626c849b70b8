mod common;
#[test]
#[ignore]
fn dump_all() {
    let dir = common::shared().join("dcerpc");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for p in names {
        let r = common::run(&p);
        println!("=== {} calls={} issues={} stats={}", p.file_name().unwrap().to_string_lossy(), r.calls.len(), r.report.issues.len(), serde_json::to_string(&r.report.stats).unwrap());
        for c in r.calls.iter().take(8) { println!("  {}", serde_json::to_string(c).unwrap()); }
        for i in r.report.issues.iter().take(5) { println!("  ISSUE {:?}", i); }
    }
}
