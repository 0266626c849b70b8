//! tracehound rpc-proto: the DCE/RPC wire formats (C706 chapters 12 and 14, MS-RPCE 2.2,
//! MS-DCOM 2.2), shared by the capture side (`tracehound-rpc`) and the live prober
//! (`tracehound-probe`). Pure codecs: bytes in, values out (and back); no flows, no state
//! across PDUs.
//!
//! - [`drep`]: the data representation label (byte order, character set, float format).
//! - [`uuid`]: DCE UUIDs, textual and NDR forms.
//! - [`ndr`]: the NDR 2.0 stub reader and writer.
//! - [`known`]: the well-known UUIDs (EPM, NDR, NDR64, DCOM interfaces), each defined once.
//! - [`pdu`]: connection-oriented PDUs: the header view, the bind family, the owned `Repr`.
//! - [`epm`]: endpoint mapper towers and stubs.
//! - [`dcom`]: DCOM / ORPC structures: OXID resolution, activation, the activation blob.
//! - [`netlogon`]: Netlogon NetrServerAuthenticate* request decoding.
//! - [`names`]: interface, operation and status names from the embedded data (`data/`).
//!
//! Contract for everything parsing wire data here: no panics, no unbounded growth; every
//! error says what and where.

pub mod dcom;
pub mod drep;
pub mod epm;
pub mod known;
pub mod names;
pub mod ndr;
pub mod netlogon;
pub mod pdu;
pub mod uuid;
