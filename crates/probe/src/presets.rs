//! Port sets like PortQryUI's predefined services ("Domains and Trusts", "Exchange
//! Server", ...), selected with `--preset NAME`.

use crate::Proto::{self, Tcp, Udp};

/// A named list of ports.
#[derive(Debug, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    pub description: &'static str,
    pub ports: &'static [(Proto, u16)],
}

pub static PRESETS: &[Preset] = &[
    Preset {
        name: "domain",
        description: "Domains and trusts (Active Directory domain controller)",
        ports: &[
            (Tcp, 135),
            (Udp, 135),
            (Tcp, 389),
            (Udp, 389),
            (Tcp, 636),
            (Tcp, 3268),
            (Tcp, 3269),
            (Tcp, 53),
            (Udp, 53),
            (Tcp, 88),
            (Udp, 88),
            (Tcp, 445),
            (Udp, 137),
            (Udp, 138),
            (Tcp, 139),
            (Tcp, 464),
            (Udp, 464),
            (Tcp, 9389),
        ],
    },
    Preset {
        name: "exchange",
        description: "Exchange Server (client access and transport)",
        ports: &[
            (Tcp, 25),
            (Tcp, 80),
            (Tcp, 110),
            (Tcp, 135),
            (Tcp, 143),
            (Tcp, 443),
            (Tcp, 465),
            (Tcp, 587),
            (Tcp, 691),
            (Tcp, 993),
            (Tcp, 995),
            (Tcp, 389),
            (Tcp, 3268),
        ],
    },
    Preset {
        name: "sccm",
        description: "Configuration Manager site system",
        ports: &[
            (Tcp, 80),
            (Tcp, 443),
            (Tcp, 135),
            (Tcp, 445),
            (Tcp, 1433),
            (Udp, 1434),
            (Tcp, 8530),
            (Tcp, 8531),
            (Tcp, 10123),
            (Udp, 25536),
            (Udp, 9),
        ],
    },
    Preset { name: "rdp", description: "Remote Desktop", ports: &[(Tcp, 3389), (Udp, 3389)] },
    Preset {
        name: "sql",
        description: "SQL Server (default instance and browser)",
        ports: &[(Tcp, 1433), (Udp, 1434), (Tcp, 135), (Tcp, 2383)],
    },
    Preset {
        name: "web",
        description: "Web server",
        ports: &[(Tcp, 80), (Tcp, 443), (Tcp, 8080), (Tcp, 8443)],
    },
    Preset {
        name: "netbios",
        description: "NetBIOS and SMB",
        ports: &[(Udp, 137), (Udp, 138), (Tcp, 139), (Tcp, 445)],
    },
    Preset { name: "ipsec", description: "IPsec", ports: &[(Udp, 500), (Udp, 4500)] },
    Preset { name: "dns", description: "DNS", ports: &[(Tcp, 53), (Udp, 53)] },
    Preset {
        name: "kerberos",
        description: "Kerberos",
        ports: &[(Tcp, 88), (Udp, 88), (Tcp, 464), (Udp, 464)],
    },
    Preset {
        name: "ldap",
        description: "LDAP and Global Catalog",
        ports: &[(Tcp, 389), (Udp, 389), (Tcp, 636), (Tcp, 3268), (Tcp, 3269)],
    },
    Preset { name: "smb", description: "SMB file sharing", ports: &[(Tcp, 445), (Tcp, 139)] },
    Preset { name: "snmp", description: "SNMP", ports: &[(Udp, 161)] },
    Preset {
        name: "tls",
        description: "Common TLS services",
        ports: &[
            (Tcp, 443),
            (Tcp, 636),
            (Tcp, 3269),
            (Tcp, 993),
            (Tcp, 995),
            (Tcp, 5986),
            (Tcp, 8443),
        ],
    },
    Preset { name: "stun", description: "STUN / TURN", ports: &[(Udp, 3478), (Tcp, 3478)] },
];

/// Looks a preset up by name (case-insensitive).
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// All preset names, comma-separated (for error messages).
pub fn names() -> String {
    PRESETS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_sane() {
        let mut names = std::collections::HashSet::new();
        for p in PRESETS {
            assert!(names.insert(p.name), "duplicate preset {}", p.name);
            let mut seen = std::collections::HashSet::new();
            for port in p.ports {
                assert!(port.1 > 0);
                assert!(seen.insert(*port), "{} lists {:?} twice", p.name, port);
            }
            // Every preset is mentioned in the help text.
            assert!(crate::args::HELP.contains(p.name), "{} missing from HELP", p.name);
        }
        assert_eq!(find("DOMAIN").map(|p| p.name), Some("domain"));
        let d = find("domain").unwrap();
        for want in
            [(Tcp, 135), (Udp, 389), (Tcp, 636), (Tcp, 3269), (Udp, 53), (Udp, 88), (Udp, 138)]
        {
            assert!(d.ports.contains(&want), "domain preset lacks {want:?}");
        }
    }
}
