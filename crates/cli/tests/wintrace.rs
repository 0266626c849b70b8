//! Windows capture formats through the whole tool (issue 10): Network Monitor files made by
//! `editcap -F netmon2` (Wireshark) from the shared captures (shared/captures/SOURCES.md)
//! give the same `conversations`, `rpc` and `analyze` output as the pcaps they were made
//! from, and `convert` writes a pcapng tshark reads as the same frames.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"));
    assert!(p.is_dir(), "shared captures missing at {}", p.display());
    p
}

fn tmpdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("tracehound-cli-wintrace-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str], file: &Path) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound")).args(args).arg(file).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace(&file.display().to_string(), "FILE");
    (text, out.status.code().unwrap_or(-1))
}

#[test]
fn netmon_files_give_the_same_output_as_their_pcaps() {
    let dir = tmpdir();
    for src in [
        "dcerpc/dcerpc__dcerpc-ctxids__input.pcap",
        "dcerpc/dcerpc__zerologon__input.pcap",
        "tcp/zeek__fin_retransmission.pcap",
    ] {
        let pcap = shared().join(src);
        let cap = dir.join(Path::new(src).file_stem().unwrap()).with_extension("cap");
        let ok = Command::new("editcap")
            .env("TZ", "UTC")
            .args(["-F", "netmon2"])
            .arg(&pcap)
            .arg(&cap)
            .status()
            .expect("editcap (Wireshark) must be installed");
        assert!(ok.success());
        for args in [
            &["conversations", "--json"][..],
            &["rpc", "--json"],
            &["analyze", "--json"],
            &["analyze"],
        ] {
            let (a, ca) = run(args, &pcap);
            let (mut b, cb) = run(args, &cap);
            if args == ["conversations", "--json"] {
                // The trace summary line the Windows input adds last (the rest is the same).
                let (rest, last) = b.trim_end().rsplit_once('\n').unwrap_or(("", b.trim_end()));
                assert!(last.starts_with("{\"file\":\"FILE\",\"windows_trace\":{"), "{last}");
                assert!(last.contains("\"format\":\"netmon 2."), "{last}");
                b = if rest.is_empty() { String::new() } else { format!("{rest}\n") };
            }
            assert!(
                !a.is_empty() || (args[0] != "conversations" && src.starts_with("tcp/")),
                "{src} {args:?}: no output"
            );
            assert_eq!((a, ca), (b, cb), "{src} {args:?}");
        }
    }
}

#[test]
fn convert_writes_a_pcapng_tshark_reads() {
    let dir = tmpdir();
    let pcap = shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap");
    let cap = dir.join("c.cap");
    assert!(Command::new("editcap")
        .env("TZ", "UTC")
        .args(["-F", "netmon2"])
        .arg(&pcap)
        .arg(&cap)
        .status()
        .unwrap()
        .success());
    let out = dir.join("c.pcapng");
    let st = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .arg("convert")
        .arg(&cap)
        .arg("-w")
        .arg(&out)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert!(String::from_utf8_lossy(&st.stderr).contains("647 packets on 1 interfaces"));
    let fields = |p: &Path| {
        let o = Command::new("tshark")
            .env("TZ", "UTC")
            .arg("-r")
            .arg(p)
            .args([
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
                "-e",
                "frame.len",
                "-e",
                "frame.md5_hash",
            ])
            .args(["-o", "frame.generate_md5_hash:TRUE"])
            .output()
            .expect("tshark must be installed");
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let a = fields(&pcap);
    assert_eq!(a.lines().count(), 647);
    assert_eq!(a, fields(&out));
}
