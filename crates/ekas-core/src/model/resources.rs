//! Resource vectors: cpu, memory, ephemeral-storage, pods and any extended resource.

use std::collections::BTreeMap;
use std::fmt;

use super::quantity::{Quantity, QuantityError};

pub const CPU: &str = "cpu";
pub const MEMORY: &str = "memory";
pub const EPHEMERAL_STORAGE: &str = "ephemeral-storage";
pub const PODS: &str = "pods";
/// EBS volumes a node can attach (the name nodes once reported it under): counted like any
/// resource when pods bring EBS-backed volumes.
pub const EBS_ATTACHMENTS: &str = "attachable-volumes-aws-ebs";

/// Stands for "not known to limit anything" (a new node's root volume size, say): large enough
/// never to be short, small enough that sums do not overflow.
pub const UNLIMITED: i64 = i64::MAX / 4;

/// Amounts per resource, in the unit the scheduler counts: millicores for cpu, bytes for memory
/// and storage, plain counts for pods and extended resources (`nvidia.com/gpu`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resources {
    pub cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    /// Sorted by name; no zero amounts.
    extended: Vec<(String, i64)>,
}

/// A resource a request needs more of than is free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub resource: String,
    pub needed: i64,
    pub available: i64,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "needs {} {}, offers {}",
            format_amount(&self.resource, self.needed),
            self.resource,
            format_amount(&self.resource, self.available)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{resource}: {error}")]
pub struct ResourceError {
    pub resource: String,
    pub error: QuantityError,
}

impl Resources {
    pub fn cpu_millis(cpu: i64) -> Self {
        Resources {
            cpu,
            ..Default::default()
        }
    }

    /// Parses a Kubernetes resource map (`{"cpu": "500m", "memory": "1Gi"}`).
    pub fn from_quantities<'a>(
        map: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ResourceError> {
        let mut out = Resources::default();
        for (name, text) in map {
            let error = |error| ResourceError {
                resource: name.to_string(),
                error,
            };
            let quantity = Quantity::parse(text).map_err(error)?;
            let amount = if name == CPU {
                quantity.milli_value()
            } else {
                quantity.value()
            }
            .ok_or_else(|| error(QuantityError::TooLarge(text.to_string())))?;
            out.set(name, amount);
        }
        Ok(out)
    }

    pub fn get(&self, name: &str) -> i64 {
        match name {
            CPU => self.cpu,
            MEMORY => self.memory,
            EPHEMERAL_STORAGE => self.ephemeral_storage,
            PODS => self.pods,
            _ => self
                .extended
                .binary_search_by(|(n, _)| n.as_str().cmp(name))
                .map(|i| self.extended[i].1)
                .unwrap_or(0),
        }
    }

    pub fn set(&mut self, name: &str, amount: i64) {
        match name {
            CPU => self.cpu = amount,
            MEMORY => self.memory = amount,
            EPHEMERAL_STORAGE => self.ephemeral_storage = amount,
            PODS => self.pods = amount,
            _ => match self
                .extended
                .binary_search_by(|(n, _)| n.as_str().cmp(name))
            {
                Ok(i) if amount == 0 => {
                    self.extended.remove(i);
                }
                Ok(i) => self.extended[i].1 = amount,
                Err(_) if amount == 0 => {}
                Err(i) => self.extended.insert(i, (name.to_string(), amount)),
            },
        }
    }

    /// Every resource with a non-zero amount, standard ones first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> {
        [
            (CPU, self.cpu),
            (MEMORY, self.memory),
            (EPHEMERAL_STORAGE, self.ephemeral_storage),
            (PODS, self.pods),
        ]
        .into_iter()
        .chain(self.extended.iter().map(|(n, v)| (n.as_str(), *v)))
        .filter(|(_, v)| *v != 0)
    }

    pub fn extended(&self) -> &[(String, i64)] {
        &self.extended
    }

    pub fn is_zero(&self) -> bool {
        self.iter().next().is_none()
    }

    fn zip_with(&mut self, other: &Resources, op: impl Fn(i64, i64) -> i64) {
        self.cpu = op(self.cpu, other.cpu);
        self.memory = op(self.memory, other.memory);
        self.ephemeral_storage = op(self.ephemeral_storage, other.ephemeral_storage);
        self.pods = op(self.pods, other.pods);
        if self.extended.is_empty() && other.extended.is_empty() {
            return;
        }
        let mut names: Vec<&str> = self
            .extended
            .iter()
            .chain(other.extended.iter())
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        // Compute every amount before writing any, so a name dropped at zero is not read again.
        let values: Vec<(String, i64)> = names
            .into_iter()
            .map(|n| (n.to_string(), op(self.get(n), other.get(n))))
            .collect();
        for (name, value) in values {
            self.set(&name, value);
        }
    }

    pub fn add(&mut self, other: &Resources) {
        self.zip_with(other, |a, b| a.saturating_add(b));
    }

    pub fn sub(&mut self, other: &Resources) {
        self.zip_with(other, |a, b| a.saturating_sub(b));
    }

    /// Elementwise maximum.
    pub fn max_with(&mut self, other: &Resources) {
        self.zip_with(other, i64::max);
    }

    pub fn plus(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        out.add(other);
        out
    }

    pub fn minus(&self, other: &Resources) -> Resources {
        let mut out = self.clone();
        out.sub(other);
        out
    }

    /// Whether `self` (a request) fits in `free`.
    #[inline]
    pub fn fits_in(&self, free: &Resources) -> bool {
        self.cpu <= free.cpu
            && self.memory <= free.memory
            && self.ephemeral_storage <= free.ephemeral_storage
            && self.pods <= free.pods
            && self.extended.iter().all(|(n, v)| *v <= free.get(n))
    }

    /// The first resource that `self` (a request) needs more of than `free` has.
    pub fn shortfall(&self, free: &Resources) -> Option<Shortfall> {
        self.iter()
            .find(|(name, needed)| *needed > free.get(name))
            .map(|(name, needed)| Shortfall {
                resource: name.to_string(),
                needed,
                available: free.get(name),
            })
    }

    /// How many copies of `self` (a request) fit in `free`; `u64::MAX` for an empty request.
    pub fn copies_in(&self, free: &Resources) -> u64 {
        self.iter()
            .map(|(name, needed)| (free.get(name).max(0) / needed) as u64)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// A map for JSON output, amounts formatted for people.
    pub fn to_display_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(n, v)| (n.to_string(), format_amount(n, v)))
            .collect()
    }
}

/// An amount in a unit people read: cores for cpu, binary units for bytes, plain counts otherwise.
pub fn format_amount(resource: &str, amount: i64) -> String {
    if amount >= UNLIMITED / 2 {
        return "unlimited".to_string();
    }
    match resource {
        CPU => trim_decimal(amount as f64 / 1000.0),
        MEMORY | EPHEMERAL_STORAGE => format_bytes(amount),
        _ if resource.starts_with("hugepages-") => format_bytes(amount),
        _ => amount.to_string(),
    }
}

fn format_bytes(bytes: i64) -> String {
    const UNITS: [(&str, i64); 4] = [
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ];
    for (suffix, size) in UNITS {
        // Unsigned: a shortfall can be as low as i64::MIN, whose negation overflows.
        if bytes.unsigned_abs() >= size.unsigned_abs() {
            return format!("{}{suffix}", trim_decimal(bytes as f64 / size as f64));
        }
    }
    bytes.to_string()
}

/// At most two decimals, without trailing zeros (15.89, 16, 0.5).
fn trim_decimal(x: f64) -> String {
    let s = format!("{:.2}", (x * 100.0).floor() / 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .iter()
            .map(|(n, v)| format!("{n}={}", format_amount(n, v)))
            .collect();
        write!(f, "{}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(pairs: &[(&str, &str)]) -> Resources {
        Resources::from_quantities(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn parses_units_per_resource() {
        let r = res(&[
            ("cpu", "1.5"),
            ("memory", "1Gi"),
            ("nvidia.com/gpu", "2"),
            ("pods", "110"),
        ]);
        assert_eq!(r.cpu, 1500);
        assert_eq!(r.memory, 1 << 30);
        assert_eq!(r.get("nvidia.com/gpu"), 2);
        assert_eq!(r.pods, 110);
        assert_eq!(r.get("example.com/foo"), 0);
    }

    #[test]
    fn malformed_quantity_names_the_resource() {
        let err = Resources::from_quantities([("memory", "lots")]).unwrap_err();
        assert_eq!(err.resource, "memory");
        assert!(err.to_string().starts_with("memory: \"lots\""), "{err}");
    }

    #[test]
    fn arithmetic_and_fit() {
        let free = res(&[("cpu", "4"), ("memory", "8Gi"), ("nvidia.com/gpu", "1")]);
        let gpu_pod = res(&[("cpu", "1"), ("memory", "2Gi"), ("nvidia.com/gpu", "1")]);
        assert!(gpu_pod.fits_in(&free));
        assert_eq!(gpu_pod.copies_in(&free), 1);
        let left = free.minus(&gpu_pod);
        assert_eq!(left.cpu, 3000);
        assert_eq!(left.get("nvidia.com/gpu"), 0);
        assert!(left.extended().is_empty(), "zero amounts are dropped");
        assert!(!gpu_pod.fits_in(&left));
        let short = gpu_pod.shortfall(&left).unwrap();
        assert_eq!(short.resource, "nvidia.com/gpu");
        assert_eq!(short.to_string(), "needs 1 nvidia.com/gpu, offers 0");
        let cpu_only = res(&[("cpu", "100")]);
        assert_eq!(
            cpu_only.shortfall(&free).unwrap().to_string(),
            "needs 100 cpu, offers 4"
        );
        assert_eq!(Resources::default().copies_in(&free), u64::MAX);
        let mut m = res(&[("cpu", "1"), ("memory", "4Gi")]);
        m.max_with(&res(&[("cpu", "2"), ("memory", "1Gi"), ("x/y", "3")]));
        assert_eq!(m, res(&[("cpu", "2"), ("memory", "4Gi"), ("x/y", "3")]));
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(format_amount(CPU, 15_890), "15.89");
        assert_eq!(format_amount(CPU, 16_000), "16");
        assert_eq!(format_amount(CPU, 500), "0.5");
        assert_eq!(format_amount(MEMORY, 1_610_612_736), "1.5Gi");
        assert_eq!(format_amount(MEMORY, 512), "512");
        // The far ends of the range print rather than overflow.
        assert_eq!(format_amount(MEMORY, i64::MIN), "-8388608Ti");
        assert_eq!(format_amount(CPU, i64::MIN), "-9223372036854776");
        assert_eq!(format_amount("nvidia.com/gpu", 4), "4");
    }
}
