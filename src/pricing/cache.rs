//! Live prices kept between passes, so `ekas run` asks AWS's price APIs only when what it holds
//! is old: on-demand prices change a few times a year, Spot prices by the hour.
//!
//! 1. A pass names what it wants priced ([`Wanted`], per region): every group's type on
//!    demand, and the types of Spot and mixed groups on the Spot market.
//! 2. What is missing, or older than its refresh period ([`Refresh`]), is read before the pass
//!    plans: `GetProducts` once per type (a few at a time), `DescribeSpotPriceHistory` once per
//!    region for all its Spot types. The rest costs no call. All of it within one deadline.
//! 3. A failed read keeps the last good prices (or, with none, leaves the bundled table and
//!    on-demand prices to stand in) and is tried again after [`RETRY_AFTER_FAILURE`]. The
//!    first failure of an episode is a warning for the operator, naming the missing IAM
//!    permission when AWS refused; every failure counts in
//!    `ekas_price_fetch_failures_total{api,reason}`; the first success after it ends the
//!    episode.
//!
//! One-shot commands start with an empty cache, so they read once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{LivePrices, SpotPrices};

/// How long read prices are used before they are read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refresh {
    /// On-demand prices (the Price List API), `--on-demand-price-refresh`.
    pub on_demand: Duration,
    /// Spot prices (the Spot price history), `--spot-price-refresh`.
    pub spot: Duration,
}

impl Default for Refresh {
    fn default() -> Self {
        // AWS publishes on-demand price changes rarely; Spot prices move a few times a day per
        // type and zone, so an hour keeps them current at one call per region an hour.
        Refresh {
            on_demand: Duration::from_secs(24 * 3600),
            spot: Duration::from_secs(3600),
        }
    }
}

/// A price API that failed is asked again after this long (or its refresh period, if shorter).
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(600);

/// `GetProducts` calls in flight at once: the Price List API allows few calls a second.
const ON_DEMAND_CALLS_AT_ONCE: usize = 4;

/// AWS's two price APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    GetProducts,
    DescribeSpotPriceHistory,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::GetProducts => "GetProducts",
            Api::DescribeSpotPriceHistory => "DescribeSpotPriceHistory",
        }
    }

    /// The IAM permission it needs.
    pub fn permission(self) -> &'static str {
        match self {
            Api::GetProducts => "pricing:GetProducts",
            Api::DescribeSpotPriceHistory => "ec2:DescribeSpotPriceHistory",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Api::GetProducts => "on-demand prices from the Price List API",
            Api::DescribeSpotPriceHistory => "Spot prices from the Spot price history",
        }
    }

    fn refresh(self, refresh: &Refresh) -> Duration {
        match self {
            Api::GetProducts => refresh.on_demand,
            Api::DescribeSpotPriceHistory => refresh.spot,
        }
    }
}

/// Why a price API gave no prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// AWS refused the call: the IAM permission is missing.
    Denied,
    /// No answer within the deadline.
    Timeout,
    /// An answer ekas cannot read.
    Malformed,
    /// Any other error (throttling after retries, an outage, a network failure).
    Failed,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Denied => "denied",
            Failure::Timeout => "timeout",
            Failure::Malformed => "malformed",
            Failure::Failed => "failed",
        }
    }
}

/// A failed read of a price API: the kind, and the message an operator reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub failure: Failure,
    pub message: String,
}

/// What a pass wants priced in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Instance types priced on demand: every group's (a Spot group's stands in for its Spot
    /// price when that is unknown).
    pub on_demand: BTreeSet<String>,
    /// Instance types of Spot and mixed groups.
    pub spot: BTreeSet<String>,
}

/// The calls the cache makes (`aws::prices` makes them; tests count them).
pub trait PriceApis {
    /// The on-demand dollars per hour of one type in `region`; `None` when the Price List has
    /// no such product.
    fn on_demand(
        &self,
        region: &str,
        instance_type: &str,
    ) -> impl Future<Output = Result<Option<f64>, FetchError>> + Send;

    /// The current Spot dollars per hour of `types` in `region`, by type and zone.
    fn spot(
        &self,
        region: &str,
        types: &[String],
    ) -> impl Future<Output = Result<SpotPrices, FetchError>> + Send;
}

/// Prices for a pass, and what the operator should be told about reading them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveRead {
    /// By region: what was wanted and is known (fresh, or the last good).
    pub prices: BTreeMap<String, LivePrices>,
    /// Warnings to log: failure episodes that began, types without a price.
    pub warnings: Vec<String>,
}

/// A price read, or read as having none, and when.
#[derive(Debug, Clone)]
struct Entry<T> {
    value: Option<T>,
    read: Instant,
}

#[derive(Debug, Default)]
struct State {
    /// (region, type) → on-demand dollars per hour.
    on_demand: HashMap<(String, String), Entry<f64>>,
    /// (region, type) → Spot dollars per hour by zone.
    spot: HashMap<(String, String), Entry<BTreeMap<String, f64>>>,
    /// APIs in a failure episode, per region: when they may be asked again.
    failing: HashMap<(Api, String), Instant>,
    /// Types already said to have no price, so it is said once.
    unpriced: HashSet<(Api, String, String)>,
}

/// Live prices, read when due and kept in between (see the module).
#[derive(Debug)]
pub struct PriceCache {
    refresh: Refresh,
    /// All reads of one pass together end within this.
    deadline: Duration,
    state: Mutex<State>,
}

/// What one region's reads came back with.
#[derive(Debug, Default)]
struct RegionResult {
    on_demand: Vec<(String, Option<f64>)>,
    spot: Option<(Vec<String>, SpotPrices)>,
    failures: Vec<(Api, FetchError)>,
    /// Whether each read ended (with or without failures) before the deadline.
    on_demand_done: bool,
    spot_done: bool,
}

impl PriceCache {
    pub fn new(refresh: Refresh, deadline: Duration) -> PriceCache {
        PriceCache {
            refresh,
            deadline,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The prices `wanted` names (region → types), reading from `apis` what is missing or old.
    pub async fn read(
        &self,
        apis: &impl PriceApis,
        wanted: &BTreeMap<String, Wanted>,
        now: Instant,
    ) -> LiveRead {
        let due: Vec<(String, Vec<String>, Vec<String>)> = {
            let state = self.state();
            wanted
                .iter()
                .map(|(region, w)| {
                    let on_demand = self.due(&state, Api::GetProducts, region, &w.on_demand, now);
                    let spot =
                        self.due(&state, Api::DescribeSpotPriceHistory, region, &w.spot, now);
                    // One call reads every Spot type of a region: when any is due, all are.
                    let spot = match spot.is_empty() {
                        true => Vec::new(),
                        false => w.spot.iter().cloned().collect(),
                    };
                    (region.clone(), on_demand, spot)
                })
                .filter(|(_, on_demand, spot)| !on_demand.is_empty() || !spot.is_empty())
                .collect()
        };
        let results = futures::future::join_all(
            due.iter()
                .map(|(region, on_demand, spot)| self.read_region(apis, region, on_demand, spot)),
        )
        .await;
        let mut warnings = Vec::new();
        let mut state = self.state();
        for (asked, result) in due.iter().zip(results) {
            let wanted = wanted.get(&asked.0).cloned().unwrap_or_default();
            self.apply(&mut state, asked, result, now, &wanted, &mut warnings);
        }
        let prices = wanted
            .iter()
            .map(|(region, w)| {
                let key = |ty: &String| (region.clone(), ty.clone());
                let on_demand = w
                    .on_demand
                    .iter()
                    .filter_map(|ty| Some((ty.clone(), state.on_demand.get(&key(ty))?.value?)))
                    .collect();
                let spot = w
                    .spot
                    .iter()
                    .filter_map(|ty| {
                        let zones = state.spot.get(&key(ty))?.value.clone()?;
                        Some((ty.clone(), zones))
                    })
                    .collect();
                (region.clone(), LivePrices { on_demand, spot })
            })
            .collect();
        LiveRead { prices, warnings }
    }

    /// The types of `wanted` to read now: missing or old, unless the API is failing and not
    /// yet due for another try.
    fn due(
        &self,
        state: &State,
        api: Api,
        region: &str,
        wanted: &BTreeSet<String>,
        now: Instant,
    ) -> Vec<String> {
        if state
            .failing
            .get(&(api, region.to_string()))
            .is_some_and(|retry| now < *retry)
        {
            return Vec::new();
        }
        let period = api.refresh(&self.refresh);
        let read = |ty: &String| {
            let key = (region.to_string(), ty.clone());
            match api {
                Api::GetProducts => state.on_demand.get(&key).map(|e| e.read),
                Api::DescribeSpotPriceHistory => state.spot.get(&key).map(|e| e.read),
            }
        };
        wanted
            .iter()
            .filter(|ty| read(ty).is_none_or(|at| now.saturating_duration_since(at) >= period))
            .cloned()
            .collect()
    }

    /// Reads one region's due prices, all within the deadline: on-demand types a few at a
    /// time, stopping at a failure of the API itself, and the Spot types in one call.
    async fn read_region(
        &self,
        apis: &impl PriceApis,
        region: &str,
        on_demand: &[String],
        spot: &[String],
    ) -> RegionResult {
        // Filled as answers come, so what arrived before the deadline counts.
        let result = Mutex::new(RegionResult::default());
        let kept = || result.lock().unwrap_or_else(|e| e.into_inner());
        let read_on_demand = async {
            for chunk in on_demand.chunks(ON_DEMAND_CALLS_AT_ONCE) {
                let answers =
                    futures::future::join_all(chunk.iter().map(|ty| apis.on_demand(region, ty)))
                        .await;
                let mut stop = false;
                for (ty, answer) in chunk.iter().zip(answers) {
                    match answer {
                        Ok(price) => kept().on_demand.push((ty.clone(), price)),
                        Err(e) => {
                            // A malformed product is that type's; anything else is the API's.
                            stop |= e.failure != Failure::Malformed;
                            kept().failures.push((Api::GetProducts, e));
                        }
                    }
                }
                if stop {
                    break;
                }
            }
            kept().on_demand_done = true;
        };
        let read_spot = async {
            if spot.is_empty() {
                kept().spot_done = true;
                return;
            }
            match apis.spot(region, spot).await {
                Ok(prices) => kept().spot = Some((spot.to_vec(), prices)),
                Err(e) => kept().failures.push((Api::DescribeSpotPriceHistory, e)),
            }
            kept().spot_done = true;
        };
        let both = async { futures::join!(read_on_demand, read_spot) };
        let timed_out = tokio::time::timeout(self.deadline, both).await.is_err();
        let mut result = result.into_inner().unwrap_or_else(|e| e.into_inner());
        if timed_out {
            let late = [
                (
                    Api::GetProducts,
                    !on_demand.is_empty(),
                    result.on_demand_done,
                ),
                (
                    Api::DescribeSpotPriceHistory,
                    !spot.is_empty(),
                    result.spot_done,
                ),
            ];
            for (api, asked, done) in late {
                if asked && !done {
                    let message = format!("no answer within {:?} (--aws-timeout)", self.deadline);
                    let failure = Failure::Timeout;
                    result.failures.push((api, FetchError { failure, message }));
                }
            }
        }
        result
    }

    /// Keeps what a region's reads returned (`asked`: the region, its on-demand and Spot
    /// types read), and starts or ends failure episodes.
    fn apply(
        &self,
        state: &mut State,
        (region, asked_on_demand, asked_spot): &(String, Vec<String>, Vec<String>),
        result: RegionResult,
        now: Instant,
        wanted: &Wanted,
        warnings: &mut Vec<String>,
    ) {
        let region = region.as_str();
        state.keep_on_demand(region, &result.on_demand, now, warnings);
        if let Some((types, prices)) = &result.spot {
            state.keep_spot(region, types, prices, now, warnings);
        }
        let apis = [
            (Api::GetProducts, asked_on_demand, &wanted.on_demand),
            (Api::DescribeSpotPriceHistory, asked_spot, &wanted.spot),
        ];
        for (api, asked, wanted_types) in apis {
            if asked.is_empty() {
                continue;
            }
            let failures: Vec<&FetchError> = result
                .failures
                .iter()
                .filter(|(a, _)| *a == api)
                .map(|(_, e)| e)
                .collect();
            let read = ApiRead {
                api,
                region,
                failures: &failures,
                wanted: wanted_types,
            };
            warnings.extend(self.follow_episode(state, read, now));
        }
    }

    /// Starts, goes on with or ends the API's failure episode in the region after a read;
    /// returns the warning for an episode that began.
    fn follow_episode(&self, state: &mut State, read: ApiRead, now: Instant) -> Option<String> {
        let ApiRead {
            api,
            region,
            failures,
            wanted,
        } = read;
        let episode = (api, region.to_string());
        if failures.is_empty() {
            if state.failing.remove(&episode).is_some() {
                tracing::info!(region, api = api.name(), "{} read again", api.what());
            }
            return None;
        }
        for e in failures {
            crate::metrics::price_fetch_failure(api.name(), e.failure.as_str());
        }
        let retry = RETRY_AFTER_FAILURE.min(api.refresh(&self.refresh));
        let began = state.failing.insert(episode, now + retry).is_none();
        let first = failures[0];
        if !began {
            tracing::debug!(region, api = api.name(), error = %first.message, "price read failed again");
            return None;
        }
        let fallback = state.stand_in(api, region, wanted, now);
        Some(failure_warning(api, region, first, &fallback, retry))
    }
}

/// One price API's part of a region's reads, as [`PriceCache::apply`] hands it on.
struct ApiRead<'a> {
    api: Api,
    region: &'a str,
    /// The read's failures, first first.
    failures: &'a [&'a FetchError],
    /// The types the pass wants priced by this API.
    wanted: &'a BTreeSet<String>,
}

impl State {
    /// Keeps the on-demand prices read in `region` (`None`: the Price List has none), and
    /// warns once per type it has none for.
    fn keep_on_demand(
        &mut self,
        region: &str,
        read: &[(String, Option<f64>)],
        now: Instant,
        warnings: &mut Vec<String>,
    ) {
        for (ty, price) in read {
            self.on_demand.insert(
                (region.to_string(), ty.to_string()),
                Entry {
                    value: *price,
                    read: now,
                },
            );
            if price.is_none()
                && self
                    .unpriced
                    .insert((Api::GetProducts, region.into(), ty.clone()))
            {
                warnings.push(format!(
                    "the Price List API has no Linux on-demand price for {ty} in {region}; it is \
                     priced from the bundled table if that has it, else not at all (add it to \
                     --price-file)"
                ));
            }
        }
    }

    /// Keeps the Spot prices read in `region` for `types` (a type with no zone priced has
    /// none), and warns once per type it has none for.
    fn keep_spot(
        &mut self,
        region: &str,
        types: &[String],
        prices: &SpotPrices,
        now: Instant,
        warnings: &mut Vec<String>,
    ) {
        for ty in types {
            let zones = prices.get(ty).cloned().filter(|z| !z.is_empty());
            if zones.is_none()
                && self
                    .unpriced
                    .insert((Api::DescribeSpotPriceHistory, region.into(), ty.clone()))
            {
                warnings.push(format!(
                    "the Spot price history has no current Linux price for {ty} in \
                     {region}; its Spot and mixed groups are priced as on-demand"
                ));
            }
            self.spot.insert(
                (region.to_string(), ty.to_string()),
                Entry {
                    value: zones,
                    read: now,
                },
            );
        }
    }

    /// When the price of `ty` the API gives was read, if one is kept.
    fn priced_at(&self, api: Api, region: &str, ty: &str) -> Option<Instant> {
        let key = (region.to_string(), ty.to_string());
        match api {
            Api::GetProducts => self
                .on_demand
                .get(&key)
                .and_then(|e| e.value.map(|_| e.read)),
            Api::DescribeSpotPriceHistory => self
                .spot
                .get(&key)
                .and_then(|e| e.value.as_ref().map(|_| e.read)),
        }
    }

    /// What prices the wanted types while the API fails: prices read before this round
    /// stand in; types without one fall back.
    fn stand_in(&self, api: Api, region: &str, wanted: &BTreeSet<String>, now: Instant) -> String {
        let (mut kept, mut unpriced) = (None::<Instant>, false);
        for ty in wanted {
            match self.priced_at(api, region, ty) {
                Some(at) if at < now => kept = Some(kept.map_or(at, |k| k.min(at))),
                Some(_) => {}
                None => unpriced = true,
            }
        }
        let fall_back = match api {
            Api::GetProducts => "pricing groups from the bundled on-demand table",
            Api::DescribeSpotPriceHistory => "pricing Spot and mixed groups as on-demand",
        };
        let keep = |at: Instant| {
            let age = human(now.saturating_duration_since(at));
            format!("keeping the prices read {age} ago")
        };
        match (kept, unpriced) {
            (None, _) => fall_back.to_string(),
            (Some(at), false) => keep(at),
            (Some(at), true) => format!("{} where it has them, else {fall_back}", keep(at)),
        }
    }
}

/// The warning that a failure episode began: what failed, what prices stand in
/// (`fallback`), and when it is tried again (`retry`); a refusal names the IAM permission.
fn failure_warning(
    api: Api,
    region: &str,
    first: &FetchError,
    fallback: &str,
    retry: Duration,
) -> String {
    let what = api.what();
    let retry = human(retry);
    match first.failure {
        Failure::Denied => format!(
            "cannot read {what} for {region}: AWS refused {} ({}); {fallback}. Grant \
             ekas the IAM permission {} (deploy/iam-policy.json), or pass \
             --live-prices=false to price from --price-file and the bundled table \
             without asking; trying again in {retry}",
            api.name(),
            first.message,
            api.permission()
        ),
        failure => format!(
            "cannot read {what} for {region} ({}): {}; {fallback}; trying again in \
             {retry}",
            failure.as_str(),
            first.message
        ),
    }
}

/// A std duration in ekas's coarse reading ([`crate::duration::human`]).
fn human(d: Duration) -> String {
    crate::duration::human(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Answers from a table, counting calls; fails as told.
    #[derive(Default)]
    struct Fake {
        on_demand_calls: AtomicUsize,
        spot_calls: AtomicUsize,
        fail: Mutex<Option<FetchError>>,
        hang: bool,
    }

    impl Fake {
        fn calls(&self) -> (usize, usize) {
            (
                self.on_demand_calls.load(Ordering::SeqCst),
                self.spot_calls.load(Ordering::SeqCst),
            )
        }

        fn failing(&self, failure: Option<Failure>) {
            *self.fail.lock().unwrap() = failure.map(|failure| FetchError {
                failure,
                message: format!("told to fail: {}", failure.as_str()),
            });
        }
    }

    impl PriceApis for Fake {
        fn on_demand(
            &self,
            _region: &str,
            instance_type: &str,
        ) -> impl Future<Output = Result<Option<f64>, FetchError>> + Send {
            self.on_demand_calls.fetch_add(1, Ordering::SeqCst);
            let answer = match self.fail.lock().unwrap().clone() {
                Some(e) => Err(e),
                None => Ok(match instance_type {
                    "m5.xlarge" => Some(0.192),
                    "c5.2xlarge" => Some(0.34),
                    _ => None,
                }),
            };
            let hang = self.hang;
            async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                answer
            }
        }

        fn spot(
            &self,
            _region: &str,
            types: &[String],
        ) -> impl Future<Output = Result<SpotPrices, FetchError>> + Send {
            self.spot_calls.fetch_add(1, Ordering::SeqCst);
            let answer = match self.fail.lock().unwrap().clone() {
                Some(e) => Err(e),
                None => Ok(types
                    .iter()
                    .filter(|t| *t != "x9.huge")
                    .map(|t| {
                        let zones = BTreeMap::from([
                            ("us-west-2a".to_string(), 0.07),
                            ("us-west-2b".to_string(), 0.08),
                        ]);
                        (t.clone(), zones)
                    })
                    .collect()),
            };
            async move { answer }
        }
    }

    fn wanted(on_demand: &[&str], spot: &[&str]) -> BTreeMap<String, Wanted> {
        let set = |types: &[&str]| types.iter().map(|t| t.to_string()).collect();
        BTreeMap::from([(
            "us-west-2".to_string(),
            Wanted {
                on_demand: set(on_demand),
                spot: set(spot),
            },
        )])
    }

    fn cache() -> PriceCache {
        PriceCache::new(Refresh::default(), Duration::from_secs(5))
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn prices_are_read_once_per_refresh_period() {
        let (fake, cache, t0) = (Fake::default(), cache(), Instant::now());
        let want = wanted(&["m5.xlarge", "c5.2xlarge"], &["m5.xlarge"]);
        let read = cache.read(&fake, &want, t0).await;
        assert_eq!(fake.calls(), (2, 1));
        let region = &read.prices["us-west-2"];
        assert_eq!(region.on_demand["m5.xlarge"], 0.192);
        assert_eq!(region.spot["m5.xlarge"]["us-west-2b"], 0.08);
        assert!(read.warnings.is_empty(), "{:?}", read.warnings);

        // A pass within the periods makes no call, and has the same prices.
        let again = cache
            .read(&fake, &want, t0 + Duration::from_secs(59 * 60))
            .await;
        assert_eq!(fake.calls(), (2, 1));
        assert_eq!(again.prices, read.prices);
        // Past the Spot period: one Spot call for the region, no on-demand one.
        cache.read(&fake, &want, t0 + HOUR).await;
        assert_eq!(fake.calls(), (2, 2));
        // Past a day: each on-demand type once more.
        cache.read(&fake, &want, t0 + 24 * HOUR).await;
        assert_eq!(fake.calls(), (4, 3));
        // A type a new group brings is read alone, at once.
        let more = wanted(&["m5.xlarge", "c5.2xlarge", "r5.large"], &["m5.xlarge"]);
        let read = cache.read(&fake, &more, t0 + 24 * HOUR).await;
        assert_eq!(fake.calls(), (5, 3));
        // The Price List has no r5.large here: said once, and not asked again before a day.
        assert!(!read.prices["us-west-2"].on_demand.contains_key("r5.large"));
        assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
        assert!(read.warnings[0].contains("no Linux on-demand price for r5.large"));
        let read = cache.read(&fake, &more, t0 + 25 * HOUR).await;
        assert_eq!(fake.calls(), (5, 4));
        assert!(read.warnings.is_empty());
    }

    #[tokio::test]
    async fn a_failure_keeps_the_last_good_prices_and_is_said_once() {
        let (fake, cache, t0) = (Fake::default(), cache(), Instant::now());
        let want = wanted(&["m5.xlarge"], &["m5.xlarge"]);
        let good = cache.read(&fake, &want, t0).await.prices;
        fake.failing(Some(Failure::Failed));
        let read = cache.read(&fake, &want, t0 + 25 * HOUR).await;
        assert_eq!(fake.calls(), (2, 2));
        assert_eq!(read.prices, good);
        assert_eq!(read.warnings.len(), 2, "{:?}", read.warnings);
        assert!(
            read.warnings[0].contains("(failed): told to fail")
                && read.warnings[0].contains("keeping the prices read 25h 0m ago")
                && read.warnings[0].contains("trying again in 10m"),
            "{}",
            read.warnings[0]
        );
        // Within the retry: no call, no word.
        let read = cache
            .read(&fake, &want, t0 + 25 * HOUR + Duration::from_secs(60))
            .await;
        assert_eq!(fake.calls(), (2, 2));
        assert!(read.warnings.is_empty());
        // After it: asked again, still failing, still said only once.
        let read = cache.read(&fake, &want, t0 + 26 * HOUR).await;
        assert_eq!(fake.calls(), (3, 3));
        assert!(read.warnings.is_empty());
        assert_eq!(read.prices, good);
        // Back: read, and a new failure later is a new episode.
        fake.failing(None);
        cache.read(&fake, &want, t0 + 27 * HOUR).await;
        assert_eq!(fake.calls(), (4, 4));
        fake.failing(Some(Failure::Failed));
        // A type no price was read for before falls back; the others keep theirs.
        let more = wanted(&["m5.xlarge", "c5.2xlarge"], &["m5.xlarge"]);
        let read = cache.read(&fake, &more, t0 + 52 * HOUR).await;
        assert_eq!(read.warnings.len(), 2, "{:?}", read.warnings);
        assert!(
            read.warnings[0].contains(
                "keeping the prices read 25h 0m ago where it has them, else pricing groups from \
                 the bundled on-demand table"
            ),
            "{}",
            read.warnings[0]
        );
        assert_eq!(read.prices, good);
    }

    #[tokio::test]
    async fn denied_names_the_permission_and_leaves_the_bundled_table() {
        let (fake, cache) = (Fake::default(), cache());
        fake.failing(Some(Failure::Denied));
        let want = wanted(
            &[
                "m5.xlarge",
                "c5.2xlarge",
                "r5.large",
                "m5.large",
                "c5.large",
            ],
            &["m5.xlarge"],
        );
        let read = cache.read(&fake, &want, Instant::now()).await;
        // One round of calls, then the region's GetProducts stops.
        assert_eq!(fake.calls(), (ON_DEMAND_CALLS_AT_ONCE, 1));
        assert_eq!(read.prices["us-west-2"], LivePrices::default());
        let [on_demand, spot] = read.warnings.as_slice() else {
            panic!("{:?}", read.warnings)
        };
        for (warning, permission, fallback) in [
            (
                on_demand,
                "pricing:GetProducts",
                "pricing groups from the bundled on-demand table",
            ),
            (
                spot,
                "ec2:DescribeSpotPriceHistory",
                "pricing Spot and mixed groups as on-demand",
            ),
        ] {
            assert!(
                warning.contains(permission)
                    && warning.contains(fallback)
                    && warning.contains("--live-prices=false"),
                "{warning}"
            );
        }
    }

    #[tokio::test]
    async fn a_hung_api_ends_at_the_deadline() {
        let fake = Fake {
            hang: true,
            ..Fake::default()
        };
        let cache = PriceCache::new(Refresh::default(), Duration::from_millis(50));
        let started = Instant::now();
        let read = cache
            .read(&fake, &wanted(&["m5.xlarge"], &["m5.xlarge"]), started)
            .await;
        assert!(started.elapsed() < Duration::from_secs(5));
        // The Spot answer came; the on-demand one did not.
        assert_eq!(read.prices["us-west-2"].spot.len(), 1);
        assert!(read.prices["us-west-2"].on_demand.is_empty());
        assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
        assert!(
            read.warnings[0].contains("(timeout)"),
            "{}",
            read.warnings[0]
        );
    }

    #[tokio::test]
    async fn a_malformed_product_is_that_types_alone() {
        let (fake, cache) = (Fake::default(), cache());
        fake.failing(Some(Failure::Malformed));
        let want = wanted(
            &[
                "m5.xlarge",
                "c5.2xlarge",
                "r5.large",
                "m5.large",
                "c5.large",
            ],
            &[],
        );
        let read = cache.read(&fake, &want, Instant::now()).await;
        // Every type is still asked: one bad product says nothing of the others.
        assert_eq!(fake.calls(), (5, 0));
        assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
        assert!(read.warnings[0].contains("(malformed)"));
    }
}
