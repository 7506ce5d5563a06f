//! Rate limits per client address on signing in and on API-token use (GCRA, from `governor`). Each process counts
//! its own requests: behind N processes a client may make up to N times the configured rate.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How many client addresses a limiter remembers before it forgets those whose allowance is full again.
const FORGET_ABOVE: usize = 10_000;

pub struct RateLimits {
    login: DefaultKeyedRateLimiter<String>,
    token: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

/// Too many requests: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slow(pub Duration);

impl RateLimits {
    pub fn new(login_per_minute: u32, token_per_minute: u32) -> RateLimits {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        RateLimits {
            login: RateLimiter::keyed(quota(login_per_minute)),
            token: RateLimiter::keyed(quota(token_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    pub fn login(&self, client: &str) -> Result<(), Slow> {
        self.check(&self.login, client)
    }

    pub fn token(&self, client: &str) -> Result<(), Slow> {
        self.check(&self.token, client)
    }

    fn check(&self, limiter: &DefaultKeyedRateLimiter<String>, client: &str) -> Result<(), Slow> {
        if limiter.len() > FORGET_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(&client.to_owned()).map_err(|not_until| Slow(not_until.wait_time_from(self.clock.now())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_has_its_own_allowance() {
        let limits = RateLimits::new(3, 100);
        for _ in 0..3 {
            assert_eq!(limits.login("10.0.0.1"), Ok(()));
        }
        let Err(Slow(wait)) = limits.login("10.0.0.1") else { panic!("the fourth sign-in in a minute is refused") };
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        assert_eq!(limits.login("10.0.0.2"), Ok(()), "another address is not slowed");
        assert_eq!(limits.token("10.0.0.1"), Ok(()), "token use has its own allowance");
    }
}
