//! What the groups can give: nodes still starting ([`startup`]), groups in backoff after failed
//! launches ([`backoff`], [`launch_failures`]), the cluster's health brake ([`health`]) and which
//! instances belong to which group ([`membership`]).

pub mod backoff;
pub mod health;
pub mod launch_failures;
pub mod membership;
pub mod startup;

#[cfg(test)]
mod tests;
