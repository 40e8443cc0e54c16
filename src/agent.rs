//! What kind of software sent a request, told from its user agent — only the kinds that
//! change what a conflict means: a gateway's or a cluster's configuration sync (an ingress
//! controller, decK, Argo CD, Flux), which re-applies the same desired state on a cadence;
//! infrastructure-as-code (Terraform, OpenTofu, Pulumi, …), which changes many sibling
//! resources of one control plane at once; and Kubernetes controllers and operators, which
//! requeue a conflicting update at once and read from a watch cache, not with GETs.
//!
//! An event keeps its agent as one byte (`Agent`), so detectors can name the tool without
//! keeping user-agent strings. Real agents, each matched case-insensitively anywhere in the
//! user agent:
//!
//! ```text
//! Terraform/1.6.2 (+https://www.terraform.io) terraform-provider-aws/5.31.0  → Terraform
//! kong-ingress-controller/2.9.3                                           → an ingress controller
//! decK/v1.30.0                                                            → decK
//! argocd-application-controller/v2.9.3                                    → Argo CD
//! kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/3f7a50f/system:serviceaccount:kube-system:job-controller
//!                                                                         → kube-controller-manager
//! manager/v0.0.0 (linux/amd64) kubernetes/$Format                         → a client-go program
//! ```
//!
//! Quirks: an infrastructure-as-code tool wins over a sync client it embeds (the Terraform Kong
//! provider speaks through go-kong); browsers and SDKs are `Agent::OTHER`, as is a line without
//! a user agent.

use aho_corasick::AhoCorasick;

/// A known tool, or `OTHER`; one byte on every event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Agent(u8);

/// What a known tool does to an API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Re-applies a declared configuration on a cadence (gateway admin APIs, clusters).
    ConfigSync,
    /// Plans and applies changes to many resources at once, in parallel.
    InfrastructureAsCode,
    /// A Kubernetes controller or operator: reconciles in a loop, reads from a watch cache
    /// rather than with GETs, and requeues on errors (root-causes D2's controller tag).
    Controller,
}

/// (lower-case text found anywhere in the user agent, the tool's name, what it does), in
/// order of precedence: the first match names the agent.
const KNOWN: &[(&str, &str, Kind)] = &[
    ("terraform", "Terraform", Kind::InfrastructureAsCode),
    ("opentofu", "OpenTofu", Kind::InfrastructureAsCode),
    ("pulumi", "Pulumi", Kind::InfrastructureAsCode),
    ("crossplane", "Crossplane", Kind::InfrastructureAsCode),
    ("ansible", "Ansible", Kind::InfrastructureAsCode),
    (
        "ingress-controller",
        "an ingress controller",
        Kind::ConfigSync,
    ),
    ("deck/", "decK", Kind::ConfigSync),
    ("go-kong", "a go-kong client", Kind::ConfigSync),
    ("argocd", "Argo CD", Kind::ConfigSync),
    ("kustomize-controller", "Flux", Kind::ConfigSync),
    ("helm-controller", "Flux", Kind::ConfigSync),
    (
        "kube-controller-manager",
        "kube-controller-manager",
        Kind::Controller,
    ),
    (
        "controller-runtime",
        "a controller-runtime operator",
        Kind::Controller,
    ),
    ("-operator/", "an operator", Kind::Controller),
    ("kubectl/", "kubectl", Kind::Controller),
    // client-go's default user agent: `NAME/VERSION (OS/ARCH) kubernetes/COMMIT`.
    (") kubernetes/", "a client-go program", Kind::Controller),
];

/// Every needle, case-insensitively, in one automaton (built on first use).
static NEEDLES: std::sync::LazyLock<AhoCorasick> = std::sync::LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(KNOWN.iter().map(|k| k.0))
        .expect("a few short needles build")
});

/// Only the start of a user agent is searched: tools put their name first or near it, and a
/// megabyte-long header should not cost a megabyte of searching.
const SEARCHED: usize = 256;

impl Agent {
    /// No known tool (or no user agent).
    pub const OTHER: Agent = Agent(0);

    /// The agent a user agent names.
    pub fn of(user_agent: &str) -> Agent {
        let bytes = user_agent.as_bytes();
        let bytes = &bytes[..bytes.len().min(SEARCHED)];
        // One pass for every needle; the earliest in `KNOWN` among those found wins.
        (NEEDLES.find_overlapping_iter(bytes))
            .map(|m| m.pattern().as_usize())
            .min()
            .map_or(Agent::OTHER, |i| Agent(i as u8 + 1))
    }

    fn known(self) -> Option<&'static (&'static str, &'static str, Kind)> {
        (self.0 as usize).checked_sub(1).map(|i| &KNOWN[i])
    }

    /// What the tool does, if it is a known one.
    pub fn kind(self) -> Option<Kind> {
        self.known().map(|k| k.2)
    }

    /// The tool's name for summaries ("Terraform", "an ingress controller").
    pub fn name(self) -> Option<&'static str> {
        self.known().map(|k| k.1)
    }
}

/// `Agent::of` remembered for the user agents seen last: a log's conflicts come from a
/// few tools and browsers, each repeating its user agent, and the automaton walks every
/// byte (over a thousand instructions for a browser's), where a remembered one costs a hash
/// and a comparison. Direct-mapped: a user agent's slot is given by its hash, and a
/// newcomer takes the slot over.
#[derive(Debug)]
pub struct AgentMemo {
    slots: Vec<Option<(Box<[u8]>, Agent)>>,
}

/// Slots in an `AgentMemo` (a power of two).
const MEMO_SLOTS: usize = 256;

impl Default for AgentMemo {
    fn default() -> Self {
        AgentMemo {
            slots: vec![None; MEMO_SLOTS],
        }
    }
}

impl AgentMemo {
    /// `Agent::of(user_agent)`, remembered.
    pub fn of(&mut self, user_agent: &str) -> Agent {
        use std::hash::BuildHasher;
        let bytes = user_agent.as_bytes();
        let bytes = &bytes[..bytes.len().min(SEARCHED)];
        let slot = rustc_hash::FxBuildHasher.hash_one(bytes) as usize & (MEMO_SLOTS - 1);
        match &self.slots[slot] {
            Some((seen, agent)) if **seen == *bytes => *agent,
            _ => {
                let agent = Agent::of(user_agent);
                self.slots[slot] = Some((bytes.into(), agent));
                agent
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memo answers what `Agent::of` answers, for user agents seen again, colliding in
    /// their slots, or cut at the searched length.
    #[test]
    fn the_memo_answers_as_the_automaton() {
        let mut memo = AgentMemo::default();
        let long = format!("{}terraform", "x".repeat(SEARCHED - 4));
        let mut agents: Vec<String> = (0..2000)
            .map(|k| match k % 3 {
                0 => format!("Terraform/1.{k}"),
                1 => format!("Mozilla/5.0 build {k}"),
                _ => format!("kong-ingress-controller/2.{k}"),
            })
            .collect();
        agents.extend([long, String::new(), "TERRAFORM".into()]);
        for round in 0..3 {
            for ua in &agents {
                assert_eq!(memo.of(ua), Agent::of(ua), "{ua} (round {round})");
            }
        }
    }

    #[test]
    fn real_user_agents() {
        let cases = [
            (
                "Terraform/1.6.2 (+https://www.terraform.io) terraform-provider-aws/5.31.0",
                Some("Terraform"),
            ),
            (
                "HashiCorp Terraform/0.12.31 (+https://www.terraform.io)",
                Some("Terraform"),
            ),
            ("OpenTofu/1.6.0 (+https://opentofu.org)", Some("OpenTofu")),
            (
                "kong-ingress-controller/2.9.3",
                Some("an ingress controller"),
            ),
            ("decK/v1.30.0", Some("decK")),
            (
                "argocd-application-controller/v2.9.3+6eba5be",
                Some("Argo CD"),
            ),
            ("kustomize-controller/v1.2.1", Some("Flux")),
            // The Terraform provider for Kong speaks through go-kong: Terraform wins.
            (
                "Terraform/1.5.7 terraform-provider-kong/6.630.0 go-kong/0.47",
                Some("Terraform"),
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
                None,
            ),
            ("okhttp/4.12.0", None),
            (
                "kube-controller-manager/v1.29.0 (linux/amd64) kubernetes/3f7a50f/system:serviceaccount:kube-system:job-controller",
                Some("kube-controller-manager"),
            ),
            (
                "prometheus-operator/v0.70.0 (linux/amd64) kubernetes/abc1234",
                Some("an operator"),
            ),
            (
                "manager/v0.0.0 (linux/amd64) kubernetes/$Format",
                Some("a client-go program"),
            ),
            (
                "kubectl/v1.29.1 (linux/amd64) kubernetes/bc401b9",
                Some("kubectl"),
            ),
            // Argo CD's controller is a sync tool first.
            (
                "argocd-application-controller/v2.9.3 (linux/amd64) kubernetes/6eba5be",
                Some("Argo CD"),
            ),
            // Words alike are not tools: no `-operator/` or `) kubernetes/` in them.
            ("my-operator-app 1.0", None),
            ("docs about kubernetes/ingress", None),
            ("-", None),
            ("", None),
        ];
        for (ua, name) in cases {
            assert_eq!(Agent::of(ua).name(), name, "{ua}");
        }
        assert_eq!(
            Agent::of("TERRAFORM/1.0").kind(),
            Some(Kind::InfrastructureAsCode)
        );
        assert_eq!(Agent::of("decK/v1.30.0").kind(), Some(Kind::ConfigSync));
        assert_eq!(
            Agent::of("cert-manager-operator/v1.13 (linux/amd64) kubernetes/x").kind(),
            Some(Kind::Controller)
        );
        assert_eq!(Agent::of("curl/8.5.0"), Agent::OTHER);
    }

    #[test]
    fn only_the_start_of_a_long_user_agent_is_searched() {
        let mut ua = "x".repeat(1 << 20);
        ua.push_str(" Terraform/1.6");
        assert_eq!(Agent::of(&ua), Agent::OTHER);
        // A multi-byte character across the cut is no problem: bytes are compared.
        let ua = format!("{}é Terraform", "a".repeat(SEARCHED - 1));
        assert_eq!(Agent::of(&ua), Agent::OTHER);
    }

    #[test]
    fn every_known_agent_is_told_by_its_needle() {
        for (i, (needle, name, _)) in KNOWN.iter().enumerate() {
            let a = Agent::of(&format!("x {} y", needle.to_uppercase()));
            // A needle found earlier in the list would take precedence; none overlaps.
            assert_eq!(a, Agent(i as u8 + 1), "{needle}");
            assert_eq!(a.name(), Some(*name));
        }
    }
}
