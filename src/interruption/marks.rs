//! A notice written on its Node, so it outlives the message: SQS keeps a message 4 days by
//! default (14 at most) while AWS Health warns up to two weeks ahead, and a restarted ekas must
//! still know which cordons are interruptions'. The engine reads the marks back
//! ([`crate::model::InterruptionMark`]): it drains a node when its due time comes within the
//! drain time, and undoes a rebalance recommendation's cordon after `--rebalance-cordon-ttl`.

use jiff::Timestamp;

use super::{Notice, Origin};
use crate::model::keys;

/// The annotations that record `notice`, received at `now`, on its Node.
pub fn annotations(
    notice: &Notice,
    origin: &Origin,
    now: Timestamp,
) -> Vec<(&'static str, Option<String>)> {
    vec![
        (keys::INTERRUPTION, Some(notice.kind.as_str().to_string())),
        (
            keys::INTERRUPTION_DUE,
            notice.deadline.map(|d| d.to_string()),
        ),
        (keys::INTERRUPTION_NOTICED, Some(now.to_string())),
        (keys::INTERRUPTION_MESSAGE, origin.id.clone()),
    ]
}

/// The annotations that remove a notice from its Node.
pub fn cleared() -> Vec<(&'static str, Option<String>)> {
    keys::INTERRUPTION_MARKS.map(|k| (k, None)).to_vec()
}
