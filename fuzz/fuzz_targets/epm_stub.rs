//! Fuzz target `epm_stub`: endpoint mapper and DCOM stub decoders on
//! arbitrary bytes, both byte orders.
//!
//! Input layout: byte 0 selects the decoder and byte order (bit 0: big
//! endian; bits 1-3: which decoder), bytes 1-2 the opnum (little endian),
//! the rest is the stub. Seeds (fuzz/corpus/epm_stub, from seed_epm_stub.sh)
//! are the EPM stubs of /work/shared/captures/dcerpc/dcerpc__zerologon__input.pcap
//! and DCOM stubs built by the crate's emitters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_rpc::{dcom, epm, ndr::Drep};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Some((op, stub)) = rest.split_first_chunk::<2>() else {
        return;
    };
    let opnum = u16::from_le_bytes(*op);
    let drep = if sel & 1 == 1 { Drep::BE } else { Drep::LE };
    match (sel >> 1) & 7 {
        0 => {
            if let Ok(r) = epm::decode_request(opnum % 8, drep, stub) {
                if let epm::EpmRequest::Map { tower: Some(t), .. } = &r {
                    let _ = t.binding_string();
                    let _ = epm::Tower::parse(&t.emit(), 0).expect("emitted tower reparses");
                }
            }
        }
        1 => {
            if let Ok(r) = epm::decode_response(opnum % 8, drep, stub) {
                for t in r
                    .towers
                    .iter()
                    .chain(r.entries.iter().filter_map(|e| e.tower.as_ref()))
                {
                    let _ = (
                        t.binding_string(),
                        t.interface(),
                        t.transfer_syntax(),
                        t.pipe(),
                        t.address(),
                        t.port(),
                    );
                }
                // Emit/decode round trip for what we understood.
                if opnum % 8 == 3 {
                    let again = epm::emit_response(drep, &r);
                    let back = epm::decode_response(opnum % 8, drep, &again)
                        .expect("re-emitted response decodes");
                    assert_eq!(back.towers, r.towers);
                    assert_eq!(back.status, r.status);
                }
            }
        }
        2 => {
            let _ = epm::Tower::parse(stub, 0);
        }
        3 => {
            let _ = dcom::decode_response(&dcom::IOBJECTEXPORTER, opnum % 6, drep, stub);
        }
        4 => {
            let _ = dcom::decode_response(&dcom::IACTIVATION, 0, drep, stub);
        }
        5 => {
            let _ = dcom::decode_response(&dcom::IREMOTESCMACTIVATOR, 3 + (opnum & 1), drep, stub);
        }
        6 => {
            let _ = dcom::decode_request(&dcom::IOBJECTEXPORTER, 4, drep, stub);
            let _ = dcom::decode_request(&dcom::IACTIVATION, 0, drep, stub);
            let _ = dcom::decode_request(&dcom::IREMOTESCMACTIVATOR, 3 + (opnum & 1), drep, stub);
        }
        _ => {
            let mut out = dcom::DcomResult::default();
            let _ = dcom::parse_activation_blob(stub, 0, &mut out);
            let mut r = tracehound_rpc::ndr::Reader::new(stub, drep);
            let _ = r.string_utf16("s");
            let _ = r.string_u8("s");
            let _ = r.uuid("u");
        }
    }
});
