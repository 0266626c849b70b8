//! `portqry` without the full CLI: `cargo run -p tracehound-probe --example portqry -- -n host -e 135`.
//! Same behaviour as `tracehound portqry` (which calls the same `tracehound_probe::run`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match tracehound_probe::run(&args, &mut out) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("portqry: {e}");
            std::process::exit(3);
        }
    }
}
