//! Prints the AppReport of one capture as JSON (a tool, not a check):
//! `CAP=/abs/path.pcap cargo test -p tracehound-apps --test dump -- --ignored --nocapture`
mod common;
#[test]
#[ignore]
fn dump() {
    let p = std::env::var("CAP").unwrap();
    let (r, _) = common::run(std::path::Path::new(&p));
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
}
