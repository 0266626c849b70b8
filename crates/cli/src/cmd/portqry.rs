//! `tracehound portqry`: PortQry's switches, passed through to the probe crate.

use tracehound_probe::ProbeError;

#[derive(clap::Args)]
pub struct Args {
    /// PortQry switches, e.g. -n HOST -e 135, -n HOST -r 1:1024 -p tcp, -local. `-?` for help.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "SWITCHES")]
    args: Vec<String>,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match tracehound_probe::run(&a.args, &mut out) {
        Ok(code) => Ok(code.clamp(0, 255) as u8),
        // A closed pipe (`| head`) is not an error.
        Err(ProbeError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(crate::exit::OK)
        }
        Err(e @ ProbeError::Args(_)) => {
            let msg = e.to_string();
            let hint = if msg.contains("-?") { "" } else { " (tracehound portqry -? lists them)" };
            eprintln!("tracehound: portqry: {msg}{hint}");
            Ok(crate::exit::USAGE)
        }
        Err(e) => Err(anyhow::anyhow!("portqry: {e}")),
    }
}
