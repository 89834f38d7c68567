//! Whether a message comes from where ekas expects, before anything is done about it: the
//! EventBridge `source` its kind is sent from, a region of `--regions`, and — with
//! `--interruption-accounts` — one of those accounts. Anyone who can send to the queue could
//! otherwise name an instance and have its running jobs evicted. What a message claims about
//! the instance (its group, its lifecycle state, its Node) is checked apart, against what ekas
//! itself reads ([`super::handler`]).

use std::fmt;

use super::{NoticeKind, Origin};

/// What a trusted message must come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// `--regions`.
    pub regions: Vec<String>,
    /// `--interruption-accounts`; empty: any account.
    pub accounts: Vec<String>,
}

/// Why a message is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Its `source` is not the one its kind is sent from (or it names none).
    Source {
        kind: NoticeKind,
        source: Option<String>,
    },
    /// About a region ekas does not manage.
    Region(String),
    /// From an account not in `--interruption-accounts`, or naming none.
    Account(Option<String>),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Source { kind, source } => write!(
                f,
                "a {} notice must come from {}, this one says {}",
                kind.as_str(),
                kind.source(),
                source.as_deref().unwrap_or("no source")
            ),
            Rejection::Region(region) => {
                write!(f, "region {region} is not one of --regions")
            }
            Rejection::Account(Some(account)) => {
                write!(f, "account {account} is not one of --interruption-accounts")
            }
            Rejection::Account(None) => write!(
                f,
                "it names no account, and --interruption-accounts asks for one"
            ),
        }
    }
}

impl Trust {
    /// The region a notice of `kind` from `origin` is about (a group's own notification has
    /// none: it is the queue's, `queue_region`), or why it is not trusted.
    pub fn check(
        &self,
        origin: &Origin,
        kind: NoticeKind,
        queue_region: &str,
    ) -> Result<String, Rejection> {
        if origin.source.as_deref() != Some(kind.source()) {
            return Err(Rejection::Source {
                kind,
                source: origin.source.clone(),
            });
        }
        let region = origin.region.as_deref().unwrap_or(queue_region);
        if !self.regions.iter().any(|r| r == region) {
            return Err(Rejection::Region(region.to_string()));
        }
        if !self.accounts.is_empty()
            && !origin
                .account
                .as_ref()
                .is_some_and(|a| self.accounts.contains(a))
        {
            return Err(Rejection::Account(origin.account.clone()));
        }
        Ok(region.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(source: Option<&str>, account: Option<&str>, region: Option<&str>) -> Origin {
        Origin {
            source: source.map(str::to_string),
            account: account.map(str::to_string),
            region: region.map(str::to_string),
            id: None,
        }
    }

    fn trust(accounts: &[&str]) -> Trust {
        Trust {
            regions: vec!["us-west-2".into(), "us-east-1".into()],
            accounts: accounts.iter().map(|a| a.to_string()).collect(),
        }
    }

    type Case<'a> = (
        &'a [&'a str],
        (Option<&'a str>, Option<&'a str>, Option<&'a str>),
        NoticeKind,
        Result<&'a str, Rejection>,
    );

    /// (accounts allowed, (source, account, region), kind, the region or the rejection); the
    /// queue is in us-east-1.
    fn checks((accounts, (source, account, region), kind, want): Case<'_>) {
        let got = trust(accounts).check(&origin(source, account, region), kind, "us-east-1");
        assert_eq!(got, want.map(str::to_string));
    }

    use NoticeKind::*;
    const A: &str = "123456789012";

    cases! {
        checks;
        spot_from_ec2: (&[], (Some("aws.ec2"), Some(A), Some("us-west-2")), SpotInterruption, Ok("us-west-2")),
        spot_from_elsewhere: (&[], (Some("my.app"), Some(A), Some("us-west-2")), SpotInterruption, Err(Rejection::Source { kind: SpotInterruption, source: Some("my.app".into()) })),
        spot_without_source: (&[], (None, Some(A), Some("us-west-2")), SpotInterruption, Err(Rejection::Source { kind: SpotInterruption, source: None })),
        health_as_ec2: (&[], (Some("aws.ec2"), Some(A), Some("us-west-2")), ScheduledChange, Err(Rejection::Source { kind: ScheduledChange, source: Some("aws.ec2".into()) })),
        health_from_health: (&[], (Some("aws.health"), Some(A), Some("us-east-1")), ScheduledChange, Ok("us-east-1")),
        another_region: (&[], (Some("aws.ec2"), Some(A), Some("eu-west-1")), Stopping, Err(Rejection::Region("eu-west-1".into()))),
        // A group's own notification names no region: the queue's.
        hook_in_the_queues_region: (&[], (Some("aws.autoscaling"), Some(A), None), TerminatingHook, Ok("us-east-1")),
        listed_account: (&[A], (Some("aws.ec2"), Some(A), Some("us-west-2")), Stopping, Ok("us-west-2")),
        another_account: (&[A], (Some("aws.ec2"), Some("999999999999"), Some("us-west-2")), Stopping, Err(Rejection::Account(Some("999999999999".into())))),
        no_account_named: (&[A], (Some("aws.ec2"), None, Some("us-west-2")), Stopping, Err(Rejection::Account(None))),
    }
}
