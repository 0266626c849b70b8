//! The findings part of the page: the heading and "Most likely" summary as the terminal
//! shows them, then every finding with its picture, evidence, likely causes and next steps —
//! the same data and words as [`crate::findings::text`], in the same order.

use maud::{html, Markup};
use tracehound_findings::{Finding, Severity};

use super::svg::figure;
use super::{bars, ladder, picture_of, source_indexes, tseq, twocap, CaptureCtx, Input, Picture};
use super::{MAX_PICTURES, PAGE_BUDGET};
use crate::findings::most_likely;

/// Bytes of findings text and pictures before the remaining findings get one line each.
const FULL_BUDGET: usize = PAGE_BUDGET * 4 / 10;
/// Findings shown in full at most, and in one line at most (a page that opens quickly).
const MAX_FULL: usize = 300;
const MAX_BRIEF: usize = 2000;
/// Bytes before the remaining findings are only counted.
const BRIEF_BUDGET: usize = PAGE_BUDGET * 6 / 10;

fn plural(n: usize, w: &str) -> String {
    format!("{n} {w}{}", if n == 1 { "" } else { "s" })
}

/// Text with `code` spans (as the rules write commands) shown as code.
pub fn rich(s: &str) -> Markup {
    let parts: Vec<&str> = s.split('`').collect();
    let balanced = parts.len() % 2 == 1;
    html! {
        @for (i, p) in parts.iter().enumerate() {
            @if balanced && i % 2 == 1 { code { (p) } } @else if !balanced && i > 0 { "`" (p) } @else { (p) }
        }
    }
}

fn badge(s: Severity) -> Markup {
    let (icon, name) = match s {
        Severity::Problem => ("✖", "PROBLEM"),
        Severity::Warning => ("▲", "WARNING"),
        Severity::Info => ("ℹ", "INFO"),
        Severity::Artifact => ("◌", "ARTIFACT"),
    };
    html! { span class={"badge " (s.name())} { span aria-hidden="true" { (icon) " " } "[" (name) "]" } }
}

fn summary(input: &Input) -> Markup {
    let fs = input.findings;
    let count = |s: Severity| fs.iter().filter(|f| f.severity == s).count();
    html! {
        header {
            h1 {
                span class="tool" { "tracehound analyze" } " " (input.files.join(", "))
                " — " (plural(count(Severity::Problem), "problem")) ", "
                (plural(count(Severity::Warning), "warning")) ", "
                (plural(count(Severity::Artifact), "artifact"))
            }
            @match most_likely(fs) {
                Some(f) => {
                    div class={"summary " (f.severity.name())} id="most-likely" {
                        p class="ml" { strong { "Most likely:" } " " a href={"#f" (fs.iter().position(|g| std::ptr::eq(g, f)).unwrap_or(0))} { (f.title) } }
                        @if let Some(s) = f.next_steps.first() { p class="step" { "→ " (rich(s)) } }
                    }
                }
                None => {
                    div class="summary healthy" id="most-likely" {
                        p class="ml" { strong { "Looks healthy:" } " no connection problem found in this capture." }
                    }
                }
            }
        }
    }
}

fn caption(pic: Picture, f: &Finding) -> String {
    match pic {
        Picture::Ladder => format!("Ladder diagram of the evidence frames of “{}”: the hosts as columns, one arrow per frame (frame number and time since the first one on the left), time running downwards.", f.title),
        Picture::TimeSeq => format!("TCP time–sequence graph (Stevens / tcptrace style) of the flow named in “{}”: sequence number against time for the data direction, with the ACK line, the receive window, retransmissions, SACK blocks and stalls.", f.title),
        Picture::Bars => format!("Where the time went for “{}”: per request, the network round trip and the server think time as stacked bars, slowest first.", f.title),
        Picture::TwoCaptures => format!("The flow named in “{}” as seen at both capture points, side by side: matching packets joined, packets seen at one point only marked ✕.", f.title),
    }
}

fn picture(f: &Finding, idx: usize, ctxs: &[CaptureCtx]) -> Option<Markup> {
    let pic = picture_of(f)?;
    let srcs: Vec<&CaptureCtx> = sources_of_ctx(f, ctxs);
    let uid = format!("p{idx}");
    let made: Option<(Markup, Option<String>)> = match pic {
        Picture::Ladder => srcs.first().and_then(|cx| ladder::ladder(f, cx, &uid)),
        Picture::TimeSeq => srcs.first().and_then(|cx| tseq::graph(f, cx, &uid)),
        Picture::Bars => srcs.first().and_then(|cx| bars::bars(f, cx)),
        Picture::TwoCaptures => twocap::picture(f, &srcs),
    };
    let problems: Vec<&str> = srcs.iter().filter_map(|c| c.pk.problem.as_deref()).collect();
    match made {
        Some((svg, note)) => Some(figure(pic_class(pic), &caption(pic, f), note.as_deref(), svg)),
        None => Some(html! {
            p class="nopic" {
                "ℹ No picture: "
                @if problems.is_empty() { "the frames it would draw were not found in the capture." } @else { (problems.join("; ")) }
            }
        }),
    }
}

fn pic_class(p: Picture) -> &'static str {
    match p {
        Picture::Ladder => "ladder",
        Picture::TimeSeq => "tseq",
        Picture::Bars => "bars",
        Picture::TwoCaptures => "twocap",
    }
}

fn sources_of_ctx<'c, 'a>(f: &Finding, ctxs: &'c [CaptureCtx<'a>]) -> Vec<&'c CaptureCtx<'a>> {
    let names: Vec<&str> = ctxs.iter().map(|c| c.facts.file).collect();
    source_indexes(f, &names).into_iter().filter_map(|i| ctxs.get(i)).collect()
}

fn finding(f: &Finding, i: usize, pic: Option<Markup>, files: usize) -> Markup {
    html! {
        section class={"finding " (f.severity.name())} id={"f" (i)} data-id=(f.id) {
            h2 { (badge(f.severity)) " " span class="title" { (f.title) } " " code class="id" { (f.id) } }
            p class="expl" { (f.explanation) }
            @if let Some(p) = pic { (p) }
            @if !f.evidence.lines.is_empty() {
                h3 { "Evidence:" }
                ul class="evidence" { @for l in &f.evidence.lines { li { (l) } } }
                @if let (Some(file), true) = (&f.evidence.file, files > 1) { p class="in" { "(in " (file) ")" } }
            }
            @if !f.likely_causes.is_empty() {
                h3 { "Likely causes:" }
                ul { @for c in &f.likely_causes { li { (rich(c)) } } }
            }
            @if !f.next_steps.is_empty() {
                h3 { "Next steps:" }
                ol { @for s in &f.next_steps { li { (rich(s)) } } }
            }
        }
    }
}

fn brief_line(f: &Finding, i: usize) -> Markup {
    html! {
        li class={"brief " (f.severity.name())} id={"f" (i)} { (badge(f.severity)) " " (f.title) " " code class="id" { (f.id) } }
    }
}

/// The page body: summary, findings, tables.
pub fn body(input: &Input, ctxs: &[CaptureCtx], tables: Markup) -> Markup {
    let t0 = std::time::Instant::now();
    let mut used = 0usize;
    let mut parts: Vec<Markup> = Vec::new();
    let mut briefs: Vec<Markup> = Vec::new();
    let mut pictures = 0usize;
    let mut not_drawn = 0usize;
    let mut left_out = 0usize;
    for (i, f) in input.findings.iter().enumerate() {
        if used < FULL_BUDGET && parts.len() < MAX_FULL {
            let pic = if picture_of(f).is_some() && pictures < MAX_PICTURES {
                pictures += 1;
                picture(f, i, ctxs)
            } else {
                not_drawn += usize::from(picture_of(f).is_some());
                None
            };
            let m = finding(f, i, pic, input.files.len());
            used += m.0.len();
            parts.push(m);
        } else if used < BRIEF_BUDGET && briefs.len() < MAX_BRIEF {
            let m = brief_line(f, i);
            used += m.0.len();
            briefs.push(m);
        } else {
            left_out += 1;
        }
    }
    let total = input.findings.len();
    if std::env::var_os("TRACEHOUND_TIMINGS").is_some() {
        eprintln!(
            "tracehound: timings: html: findings and pictures {:.3} s",
            t0.elapsed().as_secs_f64()
        );
    }
    html! {
        (summary(input))
        @for c in ctxs { @if let Some(p) = &c.pk.problem { p class="note" { "ℹ " (c.facts.file) ": " (p) } } }
        @for c in ctxs { @if c.pk.dropped > 0 { p class="note" { "ℹ " (c.facts.file) ": " (c.pk.dropped) " packets of the pictured flows were not read back (limit " (super::packets::MAX_FLOW_PACKETS) " per flow); the graphs end there." } } }
        main {
            @for p in &parts { (p) }
            @if not_drawn > 0 {
                p class="note sampled" { "ℹ Pictures are drawn for the first " (MAX_PICTURES) " problems and warnings; " (not_drawn) " more are shown without one." }
            }
            @if !briefs.is_empty() {
                p class="note sampled" { "ℹ To keep this page small, the next " (briefs.len()) " of " (total) " findings are listed in one line each (their full text is in `tracehound analyze` and `--json`):" }
                ul class="briefs" { @for b in &briefs { (b) } }
            }
            @if left_out > 0 {
                p class="note sampled" { "ℹ " (left_out) " more findings are not shown here, to keep the page small (under " (PAGE_BUDGET / 1_000_000) " MB) and quick to open; `tracehound analyze --json` lists them all." }
            }
        }
        (tables)
        footer { p { "Made by tracehound. Every picture is SVG drawn from the findings' evidence and the capture's packets; nothing on this page loads anything from the network." } }
    }
}
