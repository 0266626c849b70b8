//! Colour, only when writing to a terminal and `NO_COLOR` is not set.

use std::io::IsTerminal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Bad,
    Warn,
    Good,
    Dim,
    Bold,
}

#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    pub fn for_stdout() -> Style {
        Style { color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() }
    }
    pub fn plain() -> Style {
        Style { color: false }
    }
    pub fn paint(&self, tone: Tone, s: &str) -> String {
        if !self.color || tone == Tone::Plain {
            return s.to_string();
        }
        let code = match tone {
            Tone::Bad => "31",
            Tone::Warn => "33",
            Tone::Good => "32",
            Tone::Dim => "2",
            Tone::Bold => "1",
            Tone::Plain => "0",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }
}
