//! What the GitHub App may do and which webhooks it receives: the union of
//! what the catalog's enabled components need.
//!
//! Permission keys and event names are spelled as GitHub's app manifest and
//! API spell them (octokit/webhooks `common/app.schema.json`: `permissions`
//! and `events`). Changing what an app requests makes every installation
//! approve it again, so the table asks for what each component documents as
//! its minimum and nothing more.

use std::collections::{BTreeMap, BTreeSet};

use opsmith_plugin_sdk::AppCatalog;
use serde::Serialize;

/// How much of a permission the app asks for; `Write` implies `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

use Access::{Read, Write};

/// What one component needs from the app.
pub struct Needs {
    /// The component's plugin, `builtin:<plugin>`; `None` for the base every app gets.
    pub plugin: Option<&'static str>,
    pub permissions: &'static [(&'static str, Access)],
    pub events: &'static [&'static str],
}

/// The table. Where the facts come from:
///
/// - base: GitHub gives every app `metadata: read` and keeps it whenever any
///   repository permission is granted (GitHub docs, "Choosing permissions for
///   a GitHub App").
/// - prow: Prow's "Deploying Prow" guide, section "GitHub App", lists the
///   minimum: actions, checks and administration read (tide reads run state,
///   hook reads collaborators and teams), contents write (tide merges),
///   issues, pull requests and commit statuses write, organization members
///   read. The events are the ones Prow's hook dispatches to its plugins
///   (`pkg/hook/server.go`, `demuxEvent`); the guide says "all events", which
///   adds deliveries nothing in a default Prow reads.
/// - tekton: the EventListener runs pipelines on `pull_request` and `push`
///   (GitHub needs pull requests and contents read to deliver those), and
///   pipelines report back as commit statuses and check runs.
/// - argocd: Argo CD's webhook (`/api/webhook`) refreshes Applications on
///   `push` and reads the repository.
pub const NEEDS: &[Needs] = &[
    Needs {
        plugin: None,
        permissions: &[("metadata", Read)],
        events: &[],
    },
    Needs {
        plugin: Some("prow"),
        permissions: &[
            ("actions", Read),
            ("administration", Read),
            ("checks", Read),
            ("contents", Write),
            ("issues", Write),
            ("members", Read),
            ("pull_requests", Write),
            ("statuses", Write),
        ],
        events: &[
            "issue_comment",
            "issues",
            "pull_request",
            "pull_request_review",
            "pull_request_review_comment",
            "push",
            "status",
        ],
    },
    Needs {
        plugin: Some("tekton"),
        permissions: &[
            ("checks", Write),
            ("contents", Read),
            ("pull_requests", Read),
            ("statuses", Write),
        ],
        events: &["pull_request", "push"],
    },
    Needs {
        plugin: Some("argocd"),
        permissions: &[("contents", Read)],
        events: &["push"],
    },
];

/// The app's `default_permissions` and `default_events`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Requested {
    pub permissions: BTreeMap<&'static str, Access>,
    pub events: BTreeSet<&'static str>,
}

/// The union of the base and the needs of every enabled component in the
/// catalog; where two components ask for the same permission, the larger
/// access wins.
pub fn requested(catalog: &AppCatalog) -> Requested {
    let mut requested = Requested::default();
    let enabled =
        |plugin: Option<&str>| plugin.is_none_or(|p| catalog.builtin_component(p).is_some());
    for needs in NEEDS.iter().filter(|n| enabled(n.plugin)) {
        for &(key, access) in needs.permissions {
            let granted = requested.permissions.entry(key).or_insert(access);
            *granted = (*granted).max(access);
        }
        requested.events.extend(needs.events);
    }
    requested
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The permission GitHub requires before an app may subscribe to an
    /// event (GitHub docs, "Webhook events and payloads", the availability
    /// line of each event). A manifest whose events lack it is refused.
    const EVENT_PERMISSION: &[(&str, &str)] = &[
        ("issue_comment", "issues"),
        ("issues", "issues"),
        ("pull_request", "pull_requests"),
        ("pull_request_review", "pull_requests"),
        ("pull_request_review_comment", "pull_requests"),
        ("push", "contents"),
        ("status", "statuses"),
    ];

    #[test]
    fn every_component_has_the_permission_its_events_need() {
        for needs in NEEDS {
            for event in needs.events {
                let (_, permission) = EVENT_PERMISSION
                    .iter()
                    .find(|(e, _)| e == event)
                    .unwrap_or_else(|| panic!("no permission known for event {event}"));
                assert!(
                    needs.permissions.iter().any(|(key, _)| key == permission),
                    "{:?} subscribes to {event} without {permission}",
                    needs.plugin
                );
            }
        }
    }

    #[test]
    fn keys_and_events_are_listed_once_per_component() {
        for needs in NEEDS {
            let keys: BTreeSet<_> = needs.permissions.iter().map(|(k, _)| k).collect();
            assert_eq!(keys.len(), needs.permissions.len(), "{:?}", needs.plugin);
            let events: BTreeSet<_> = needs.events.iter().collect();
            assert_eq!(events.len(), needs.events.len(), "{:?}", needs.plugin);
        }
    }
}
