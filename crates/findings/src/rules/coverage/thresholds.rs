//! `capture.damaged` and `capture.not_analysed` at their numbers: each cause counts from its
//! first instance (one undecodable frame, one skipped record, one incomplete datagram, one
//! limit, one frame of an unsupported link type), and a capture with no frame at all.

use super::{check, DAMAGED, NOT_ANALYSED};
use crate::testkit::Kit;
use crate::{CaptureFacts, Severity};

fn found(c: CaptureFacts) -> Vec<(&'static str, Severity)> {
    let mut k = Kit::new();
    k.capture = c;
    k.run(check).iter().map(|f| (f.id, f.severity)).collect()
}

fn healthy() -> CaptureFacts {
    CaptureFacts { frames: 1, fragments: 4, datagrams_reassembled: 2, ..Default::default() }
}

#[test]
fn zero_frames_is_nothing_analysed_one_frame_is_a_capture() {
    assert_eq!(found(CaptureFacts::default()), [(NOT_ANALYSED, Severity::Warning)]);
    assert!(found(healthy()).is_empty());
    assert!(!healthy().incomplete());
    // an empty file cut short says so once, as damage
    let cut = CaptureFacts { damage: Some("cut at offset 24".into()), ..Default::default() };
    assert_eq!(found(cut), [(DAMAGED, Severity::Warning)]);
}

#[test]
fn each_cause_from_its_first_instance() {
    let one = [
        (CaptureFacts { decode_errors: 1, ..healthy() }, DAMAGED),
        (CaptureFacts { skipped_records: 1, ..healthy() }, NOT_ANALYSED),
        (CaptureFacts { datagrams_incomplete: 1, ..healthy() }, NOT_ANALYSED),
        (CaptureFacts { unsupported_link_types: vec![(105, 1)], ..healthy() }, NOT_ANALYSED),
        (
            CaptureFacts {
                limits_reached: vec!["flow table: 1 flow closed early".into()],
                ..healthy()
            },
            NOT_ANALYSED,
        ),
    ];
    for (c, id) in one {
        assert!(c.incomplete(), "{c:?}");
        assert_eq!(found(c), [(id, Severity::Warning)]);
    }
    // counts beside them that are not a loss: frames cut by the snap length alone, fragments
    // all reassembled
    let fine = CaptureFacts { frames_cut_by_snaplen: 3, ..healthy() };
    assert!(found(fine.clone()).is_empty());
    assert!(!fine.incomplete());
}

#[test]
fn one_finding_per_link_type() {
    let c = CaptureFacts { unsupported_link_types: vec![(105, 2), (9, 1)], ..healthy() };
    assert_eq!(found(c).len(), 2);
}
