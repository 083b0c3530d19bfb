//! The spawn queue: spawns waiting for a free slot of the global capacity, first come first
//! served, one place per owner and challenge. It holds no engine work itself; whoever runs
//! it (`serve`) spawns the front place when a slot frees and removes it once done.

use std::collections::VecDeque;

use super::Actor;
use crate::store::Millis;

/// One waiting spawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub owner: String,
    pub challenge: String,
    /// Who asked, for the audit of the spawn when it happens.
    pub actor: Actor,
    pub since: Millis,
}

#[derive(Debug, Default)]
pub struct SpawnQueue {
    places: VecDeque<Place>,
}

impl SpawnQueue {
    /// Take a place at the back, or keep the one this owner already holds for this challenge;
    /// the 1-based position either way.
    pub fn join(&mut self, place: Place) -> usize {
        if let Some(at) = self.position(&place.owner, &place.challenge) {
            return at;
        }
        self.places.push_back(place);
        self.places.len()
    }

    /// The 1-based position of this owner's place for this challenge.
    pub fn position(&self, owner: &str, challenge: &str) -> Option<usize> {
        self.places
            .iter()
            .position(|p| p.owner == owner && p.challenge == challenge)
            .map(|i| i + 1)
    }

    /// This owner's places, with their positions, front first.
    pub fn of_owner(&self, owner: &str) -> Vec<(usize, &Place)> {
        self.places
            .iter()
            .enumerate()
            .filter(|(_, p)| p.owner == owner)
            .map(|(i, p)| (i + 1, p))
            .collect()
    }

    /// Give up a place; whether there was one.
    pub fn leave(&mut self, owner: &str, challenge: &str) -> bool {
        let before = self.places.len();
        self.places
            .retain(|p| !(p.owner == owner && p.challenge == challenge));
        self.places.len() != before
    }

    /// The place served next.
    pub fn front(&self) -> Option<&Place> {
        self.places.front()
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(owner: &str, challenge: &str) -> Place {
        Place {
            owner: owner.into(),
            challenge: challenge.into(),
            actor: Actor::admin("api:board"),
            since: 0,
        }
    }

    #[test]
    fn first_come_first_served_one_place_per_owner_and_challenge() {
        let mut q = SpawnQueue::default();
        assert_eq!(q.join(place("team:a", "web")), 1);
        assert_eq!(q.join(place("team:b", "web")), 2);
        assert_eq!(q.join(place("team:a", "nc")), 3);
        // Asking again keeps the place held.
        assert_eq!(q.join(place("team:a", "web")), 1);
        assert_eq!(q.len(), 3);
        assert_eq!(q.front().unwrap().owner, "team:a");
        let mine: Vec<usize> = q.of_owner("team:a").iter().map(|(n, _)| *n).collect();
        assert_eq!(mine, [1, 3]);
        // Leaving moves everyone behind up.
        assert!(q.leave("team:a", "web"));
        assert!(!q.leave("team:a", "web"));
        assert_eq!(q.position("team:b", "web"), Some(1));
        assert_eq!(q.position("team:a", "nc"), Some(2));
        assert_eq!(q.position("team:c", "web"), None);
    }
}
