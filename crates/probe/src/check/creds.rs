//! Credentials for the `--autodiscover` preset: only from the environment variable
//! [`PASSWORD_ENV`] or a terminal prompt (echo off), never printed (`Debug` shows
//! `<redacted>`, nothing in a [`super::Record`] holds the password), and sent only as HTTP
//! Basic over TLS to the Autodiscover endpoints of the user's domain (see
//! [`super::steps`]); never over plain HTTP.

use std::io::{BufRead, Read, Write};

/// The environment variable holding the password.
pub const PASSWORD_ENV: &str = "TRACEHOUND_CHECK_PASSWORD";

/// A user and password; the password never leaves except in [`Credentials::basic`].
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials {{ user: {:?}, password: <redacted> }}", self.user)
    }
}

impl Credentials {
    pub fn new(user: &str, password: &str) -> Credentials {
        Credentials { user: user.to_string(), password: password.to_string() }
    }

    /// From [`PASSWORD_ENV`] when set and not empty.
    pub fn from_env(user: &str) -> Option<Credentials> {
        let p = std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty())?;
        Some(Credentials::new(user, &p))
    }

    /// Asks on the terminal with echo off; None when stdin is not a terminal or the answer
    /// is empty.
    pub fn prompt(user: &str) -> Option<Credentials> {
        // SAFETY: isatty/tcgetattr/tcsetattr on fd 0 with a termios we own.
        unsafe {
            if libc::isatty(0) != 1 {
                return None;
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            eprint!("Password for {user} (Autodiscover, HTTP Basic over TLS; empty: none): ");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            let _ = std::io::stdin().lock().take(1024).read_line(&mut line);
            libc::tcsetattr(0, libc::TCSANOW, &saved);
            eprintln!();
            let p = line.trim_end_matches(['\r', '\n']);
            (!p.is_empty()).then(|| Credentials::new(user, p))
        }
    }

    /// The `Authorization` header value.
    pub fn basic(&self) -> String {
        format!("Basic {}", base64(format!("{}:{}", self.user, self.password).as_bytes()))
    }
}

fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = c.iter().enumerate().fold(0u32, |n, (i, x)| n | (u32::from(*x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= c.len() {
                let six = ((n >> (18 - 6 * i)) & 63) as usize; // < 64: always in A
                s.push(char::from(A.get(six).copied().unwrap_or(b'=')));
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_and_redacted_debug() {
        // RFC 7617 section 2's example
        assert_eq!(
            Credentials::new("Aladdin", "open sesame").basic(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
        // the only test reading PASSWORD_ENV: no other test races on it
        std::env::set_var(PASSWORD_ENV, "Env-S3cret");
        let c = Credentials::from_env("jane@contoso.com").unwrap();
        std::env::set_var(PASSWORD_ENV, "");
        assert!(Credentials::from_env("x").is_none(), "an empty value is no password");
        std::env::remove_var(PASSWORD_ENV);
        assert_eq!(c.basic(), format!("Basic {}", base64(b"jane@contoso.com:Env-S3cret")));
        let d = format!("{:?}", Credentials::new("jane", "S3cret!"));
        assert!(!d.contains("S3cret") && d.contains("redacted"), "{d}");
    }
}
