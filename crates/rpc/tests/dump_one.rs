mod common;
#[test]
#[ignore]
fn dump_one() {
    let p = std::env::var("CAP").unwrap();
    let r = common::run(std::path::Path::new(&p));
    for c in &r.calls { println!("{}", serde_json::to_string(c).unwrap()); }
    for i in &r.report.issues { println!("ISSUE {:?}", i); }
    let reps = tracehound_rpc::endpoints::follow_up(&r.report.endpoints, &r.convs);
    for e in &reps { println!("EP {}", serde_json::to_string(e).unwrap()); }
}
