//! Header and element pools, requests, release and accounting (the buffer manager proper).

use mta_build::Profile;
use std::collections::BTreeMap;
use std::fmt;

/// The component that asked for (or now owns) a buffer; carried in errors and leak reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// "BASE TCP/IP DRVR": the RFC 1006 / class-0 transport over TCP.
    TcpDriver,
    /// The third-party X.25 transport adapter.
    X25Adapter,
    /// The network service interface (driver side of the LPI interface).
    Nsi,
    /// POP4, the upper-layer protocol machine.
    Pop4,
    /// The session layer (ISO 8327).
    Session,
    /// Presentation / ACSE / RTSE.
    UpperLayers,
    /// The MTA core (queues, routing).
    MtaCore,
    /// A test or fuzz harness.
    Harness,
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Component::TcpDriver => "BASE TCP/IP DRVR",
            Component::X25Adapter => "X.25 ADAPTER",
            Component::Nsi => "NSI",
            Component::Pop4 => "POP4",
            Component::Session => "SESSION",
            Component::UpperLayers => "UPPER LAYERS",
            Component::MtaCore => "MTA CORE",
            Component::Harness => "HARNESS",
        })
    }
}

/// Pool sizes and per-request limits of one buffer manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Headers in the pool.
    pub headers: u32,
    /// Elements in the pool.
    pub elements: u32,
    /// Octets per element.
    pub element_size: u32,
    /// Most headers one request may ask for.
    pub max_headers_per_request: u32,
    /// Most elements one request may ask for.
    pub max_elements_per_request: u32,
}

impl Limits {
    /// The limits of a build profile (after overrides).
    pub fn from_profile(p: &Profile) -> Self {
        Limits {
            headers: p.bufmgr_headers,
            elements: p.bufmgr_elements,
            element_size: p.bufmgr_element_size,
            max_headers_per_request: p.bufmgr_max_headers_per_request,
            max_elements_per_request: p.bufmgr_max_elements_per_request,
        }
    }
}

/// A buffer: header slot plus the generation it had when granted. Copyable like the real MTA's
/// buffer pointer, which is what makes double and stale releases possible — and detectable here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BufferHandle {
    slot: u32,
    generation: u32,
}

impl BufferHandle {
    /// Header slot index.
    pub fn slot(self) -> u32 {
        self.slot
    }
    /// Generation of the slot when this buffer was granted.
    pub fn generation(self) -> u32 {
        self.generation
    }
}

impl fmt::Display for BufferHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buf {}.{}", self.slot, self.generation)
    }
}

/// Why a request was not granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BufferError {
    /// The request exceeds the per-request maximum: the MTA treats this as fatal (event 9404).
    #[error(
        "illegal buffer request by {component}: {headers} headers and {elements} elements \
         (limit {max_headers}/{max_elements})"
    )]
    IllegalRequest {
        /// Who asked.
        component: Component,
        /// Headers asked for.
        headers: u32,
        /// Elements asked for.
        elements: u32,
        /// Per-request header limit.
        max_headers: u32,
        /// Per-request element limit.
        max_elements: u32,
    },
    /// A request for nothing, or for elements without a header to chain them to.
    #[error("empty buffer request by {component}: {headers} headers and {elements} elements")]
    EmptyRequest {
        /// Who asked.
        component: Component,
        /// Headers asked for.
        headers: u32,
        /// Elements asked for.
        elements: u32,
    },
    /// Legal, but the pools cannot satisfy it now (the caller may retry after releases).
    #[error(
        "buffer pools exhausted for {component}: asked {headers}/{elements}, free {free_headers}/{free_elements}"
    )]
    Exhausted {
        /// Who asked.
        component: Component,
        /// Headers asked for.
        headers: u32,
        /// Elements asked for.
        elements: u32,
        /// Free headers at the time.
        free_headers: u32,
        /// Free elements at the time.
        free_elements: u32,
    },
    /// A read or write beyond the buffer's capacity.
    #[error("{handle}: access {offset}+{len} beyond capacity {capacity}")]
    OutOfBounds {
        /// The buffer.
        handle: BufferHandle,
        /// Start of the access.
        offset: usize,
        /// Length of the access.
        len: usize,
        /// Capacity (elements × element size).
        capacity: usize,
    },
    /// The handle does not name a live buffer.
    #[error(transparent)]
    Handle(#[from] ReleaseError),
}

/// Why a handle was rejected by `release` (or any access).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// Released twice: the slot is free and still has this generation.
    #[error("double release of {0}")]
    DoubleRelease(BufferHandle),
    /// The slot was released and granted again since: this handle is dangling.
    #[error("stale handle {handle}: slot now at generation {current}")]
    Stale {
        /// The dangling handle.
        handle: BufferHandle,
        /// Generation the slot has now.
        current: u32,
    },
    /// No such slot was ever granted.
    #[error("unknown handle {0}")]
    Unknown(BufferHandle),
}

/// Headers and elements currently granted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Outstanding {
    /// Headers granted and not released.
    pub headers: u32,
    /// Elements granted and not released.
    pub elements: u32,
}

/// Counters over the manager's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests granted.
    pub granted: u64,
    /// Requests refused as illegal (over the per-request limit).
    pub illegal: u64,
    /// Requests refused for lack of free headers/elements.
    pub exhausted: u64,
    /// Buffers released.
    pub released: u64,
    /// Bad releases (double, stale, unknown).
    pub bad_releases: u64,
    /// Highest outstanding headers seen.
    pub high_water_headers: u32,
    /// Highest outstanding elements seen.
    pub high_water_elements: u32,
}

/// What is still outstanding at quiescence, by owning component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakReport {
    /// Totals.
    pub outstanding: Outstanding,
    /// Per current owner: (buffers, elements).
    pub by_owner: BTreeMap<Component, Outstanding>,
    /// The leaked buffers, lowest slot first (at most 32 listed).
    pub buffers: Vec<(BufferHandle, Component)>,
}

impl fmt::Display for LeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "buffer leak: {} headers, {} elements outstanding",
            self.outstanding.headers, self.outstanding.elements
        )?;
        for (owner, o) in &self.by_owner {
            write!(f, "; {owner}: {}/{}", o.headers, o.elements)?;
        }
        Ok(())
    }
}

const NIL: u32 = u32::MAX;

/// A granted buffer's header: owner and element chain.
#[derive(Debug, Clone, Copy)]
struct Chain {
    owner: Component,
    first: u32,
    elements: u32,
    len: usize,
}

#[derive(Debug, Clone)]
struct HeaderSlot {
    generation: u32,
    /// `None` while the header is free.
    chain: Option<Chain>,
}

/// The buffer manager: a header pool, an element pool with its storage, and exact accounting.
///
/// Free lists are LIFO and fresh slots are handed out lowest first, so the order of grants is a pure
/// function of the order of calls (determinism), and storage grows only to the high-water mark.
#[derive(Debug, Clone)]
pub struct BufferManager {
    limits: Limits,
    headers: Vec<HeaderSlot>,
    free_headers: Vec<u32>,
    /// Next element of each element's chain (`NIL` ends a chain).
    element_next: Vec<u32>,
    free_elements: Vec<u32>,
    /// Element storage, allocated on an element's first write (an element that was never written
    /// reads as zeros), so granting and releasing never touch data.
    storage: Vec<Box<[u8]>>,
    /// One element of zeros, what unwritten elements read as.
    zeros: Box<[u8]>,
    outstanding: Outstanding,
    stats: Stats,
}

impl BufferManager {
    /// An empty manager with these limits.
    pub fn new(limits: Limits) -> Self {
        assert!(limits.element_size > 0, "element size must be positive");
        BufferManager {
            limits,
            headers: Vec::new(),
            free_headers: Vec::new(),
            element_next: Vec::new(),
            free_elements: Vec::new(),
            storage: Vec::new(),
            zeros: vec![0u8; limits.element_size as usize].into_boxed_slice(),
            outstanding: Outstanding::default(),
            stats: Stats::default(),
        }
    }

    /// A manager sized by a build profile.
    pub fn for_profile(p: &Profile) -> Self {
        Self::new(Limits::from_profile(p))
    }

    /// Back to the state [`BufferManager::new`] gives (nothing granted, no slot ever used,
    /// counters zero), keeping the vectors' capacity: how a fuzz harness reuses one manager per
    /// process. Element storage written since is dropped, so unwritten elements read as zeros again.
    pub fn reset(&mut self) {
        self.headers.clear();
        self.free_headers.clear();
        self.element_next.clear();
        self.free_elements.clear();
        self.storage.clear();
        self.outstanding = Outstanding::default();
        self.stats = Stats::default();
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Headers and elements currently granted.
    pub fn outstanding(&self) -> Outstanding {
        self.outstanding
    }

    /// Lifetime counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Free headers and elements now.
    pub fn free(&self) -> Outstanding {
        Outstanding {
            headers: self.limits.headers - self.outstanding.headers,
            elements: self.limits.elements - self.outstanding.elements,
        }
    }

    /// Check a request against the per-request limit without granting anything.
    pub fn check_request(
        &self,
        component: Component,
        headers: u32,
        elements: u32,
    ) -> Result<(), BufferError> {
        if headers == 0 {
            return Err(BufferError::EmptyRequest {
                component,
                headers,
                elements,
            });
        }
        if headers > self.limits.max_headers_per_request
            || elements > self.limits.max_elements_per_request
        {
            return Err(BufferError::IllegalRequest {
                component,
                headers,
                elements,
                max_headers: self.limits.max_headers_per_request,
                max_elements: self.limits.max_elements_per_request,
            });
        }
        Ok(())
    }

    /// Grant `headers` buffers sharing `elements` elements in one request, all or nothing.
    ///
    /// Elements are dealt in order: each buffer gets `elements / headers`, and the first
    /// `elements % headers` buffers one more. A request over the build's per-request maximum is
    /// [`BufferError::IllegalRequest`]; the pools are not touched.
    pub fn request(
        &mut self,
        component: Component,
        headers: u32,
        elements: u32,
    ) -> Result<Vec<BufferHandle>, BufferError> {
        self.admit(component, headers, elements)?;
        let per = elements / headers;
        let extra = elements % headers;
        let mut grant = Vec::with_capacity(headers as usize);
        for i in 0..headers {
            let n = per + u32::from(i < extra);
            grant.push(self.grant_one(component, n));
        }
        Ok(grant)
    }

    /// One buffer with room for `len` octets (`ceil(len / element_size)` elements, at least one).
    pub fn request_for_len(
        &mut self,
        component: Component,
        len: usize,
    ) -> Result<BufferHandle, BufferError> {
        let es = self.limits.element_size as usize;
        let elements = u32::try_from(len.div_ceil(es).max(1)).unwrap_or(u32::MAX);
        self.admit(component, 1, elements)?;
        Ok(self.grant_one(component, elements))
    }

    /// Check a request against the per-request limit and the free pools, and if it is granted
    /// count it (the caller then takes `headers` slots and `elements` elements).
    fn admit(
        &mut self,
        component: Component,
        headers: u32,
        elements: u32,
    ) -> Result<(), BufferError> {
        if let Err(e) = self.check_request(component, headers, elements) {
            if matches!(e, BufferError::IllegalRequest { .. }) {
                mta_reach::reach!("bufmgr: illegal request refused");
                self.stats.illegal += 1;
                tracing::warn!(%component, headers, elements, "illegal buffer request");
            }
            return Err(e);
        }
        let free = self.free();
        if headers > free.headers || elements > free.elements {
            mta_reach::reach!("bufmgr: pools exhausted");
            self.stats.exhausted += 1;
            return Err(BufferError::Exhausted {
                component,
                headers,
                elements,
                free_headers: free.headers,
                free_elements: free.elements,
            });
        }
        if headers == self.limits.max_headers_per_request
            || elements == self.limits.max_elements_per_request
        {
            mta_reach::reach!("bufmgr: request at the per-request limit");
        }
        self.outstanding.headers += headers;
        self.outstanding.elements += elements;
        if self.outstanding.elements == self.limits.elements {
            mta_reach::reach!("bufmgr: last free element granted");
        }
        if self.outstanding.headers == self.limits.headers {
            mta_reach::reach!("bufmgr: last free header granted");
        }
        self.stats.granted += 1;
        self.stats.high_water_headers = self.stats.high_water_headers.max(self.outstanding.headers);
        self.stats.high_water_elements = self
            .stats
            .high_water_elements
            .max(self.outstanding.elements);
        debug_assert!(self.outstanding.headers <= self.limits.headers);
        debug_assert!(self.outstanding.elements <= self.limits.elements);
        Ok(())
    }

    fn grant_one(&mut self, owner: Component, elements: u32) -> BufferHandle {
        let first = self.take_chain(elements);
        let chain = Some(Chain {
            owner,
            first,
            elements,
            len: 0,
        });
        let slot = if let Some(slot) = self.free_headers.pop() {
            let h = &mut self.headers[slot as usize];
            h.generation = h.generation.wrapping_add(1);
            h.chain = chain;
            slot
        } else {
            self.headers.push(HeaderSlot {
                generation: 1,
                chain,
            });
            (self.headers.len() - 1) as u32
        };
        BufferHandle {
            slot,
            generation: self.headers[slot as usize].generation,
        }
    }

    /// Take `n` elements and link them into a chain; returns its first element (`NIL` for none).
    ///
    /// Free elements are taken last-freed first, then never-used ones lowest first; each taken
    /// element is put in front of the chain, so the chain lists the never-used ones (newest
    /// first) and then the free ones in the order they sit on the free list. Done a run at a time
    /// (a grant of 28 elements is two loops, not 28 pops).
    fn take_chain(&mut self, n: u32) -> u32 {
        let n = n as usize;
        let from_free = n.min(self.free_elements.len());
        let start = self.free_elements.len() - from_free;
        let mut next = NIL;
        for &e in self.free_elements[start..].iter().rev() {
            self.element_next[e as usize] = next;
            next = e;
        }
        self.free_elements.truncate(start);
        let fresh = n - from_free;
        if from_free > 0 && fresh > 0 {
            mta_reach::reach!("bufmgr: chain of recycled and fresh elements");
        }
        let base = self.element_next.len();
        assert!(
            base + fresh <= self.limits.elements as usize,
            "element accounting out of step"
        );
        for k in 0..fresh {
            self.element_next.push(next);
            self.storage.push(Box::default());
            next = (base + k) as u32;
        }
        next
    }

    /// The chain of a live buffer, or why the handle is not live.
    fn live(&self, handle: BufferHandle) -> Result<Chain, ReleaseError> {
        let slot = self
            .headers
            .get(handle.slot as usize)
            .ok_or(ReleaseError::Unknown(handle))?;
        match (slot.chain, slot.generation == handle.generation) {
            (Some(chain), true) => Ok(chain),
            (None, true) => Err(ReleaseError::DoubleRelease(handle)),
            _ if handle.generation > slot.generation || handle.generation == 0 => {
                Err(ReleaseError::Unknown(handle))
            }
            _ => Err(ReleaseError::Stale {
                handle,
                current: slot.generation,
            }),
        }
    }

    /// Return a buffer and its elements to the pools.
    pub fn release(&mut self, handle: BufferHandle) -> Result<(), ReleaseError> {
        let Chain {
            first, elements, ..
        } = match self.live(handle) {
            Ok(chain) => chain,
            Err(e) => {
                match e {
                    ReleaseError::DoubleRelease(_) => {
                        mta_reach::reach!("bufmgr: double release detected");
                    }
                    ReleaseError::Stale { .. } => {
                        mta_reach::reach!("bufmgr: stale handle detected");
                    }
                    ReleaseError::Unknown(_) => {}
                }
                self.stats.bad_releases += 1;
                tracing::error!(%handle, error = %e, "bad buffer release");
                return Err(e);
            }
        };
        self.headers[handle.slot as usize].chain = None;
        let mut e = first;
        let mut n = 0;
        while e != NIL {
            self.free_elements.push(e);
            e = self.element_next[e as usize];
            n += 1;
        }
        debug_assert_eq!(
            n, elements,
            "element chain length matches the header's count"
        );
        self.free_headers.push(handle.slot);
        self.outstanding.headers -= 1;
        self.outstanding.elements -= elements;
        self.stats.released += 1;
        Ok(())
    }

    /// Hand a buffer to another component (the leak report blames the current owner).
    pub fn hand_over(&mut self, handle: BufferHandle, to: Component) -> Result<(), ReleaseError> {
        self.live_mut(handle)?.owner = to;
        Ok(())
    }

    fn live_mut(&mut self, handle: BufferHandle) -> Result<&mut Chain, ReleaseError> {
        self.live(handle)?;
        Ok(self.headers[handle.slot as usize]
            .chain
            .as_mut()
            .expect("live() checked the slot is in use"))
    }

    /// The component that owns a live buffer.
    pub fn owner(&self, handle: BufferHandle) -> Result<Component, ReleaseError> {
        Ok(self.live(handle)?.owner)
    }

    /// Capacity in octets (elements × element size).
    pub fn capacity(&self, handle: BufferHandle) -> Result<usize, ReleaseError> {
        Ok(self.live(handle)?.elements as usize * self.limits.element_size as usize)
    }

    /// Number of elements chained to a live buffer.
    pub fn element_count(&self, handle: BufferHandle) -> Result<u32, ReleaseError> {
        Ok(self.live(handle)?.elements)
    }

    /// Octets of data the buffer holds (what the writer declared).
    pub fn len(&self, handle: BufferHandle) -> Result<usize, ReleaseError> {
        Ok(self.live(handle)?.len)
    }

    /// Replace the buffer's contents with `data` (must fit its capacity).
    pub fn fill(&mut self, handle: BufferHandle, data: &[u8]) -> Result<(), BufferError> {
        self.write_at(handle, 0, data)?;
        self.set_len(handle, data.len())
    }

    /// Write `data` at `offset`, across the element chain.
    pub fn write_at(
        &mut self,
        handle: BufferHandle,
        offset: usize,
        data: &[u8],
    ) -> Result<(), BufferError> {
        let chain = self.live(handle)?;
        let es = self.limits.element_size as usize;
        let capacity = chain.elements as usize * es;
        if offset
            .checked_add(data.len())
            .is_none_or(|end| end > capacity)
        {
            return Err(BufferError::OutOfBounds {
                handle,
                offset,
                len: data.len(),
                capacity,
            });
        }
        // Skip the elements before `offset`, then copy element by element.
        let mut e = chain.first;
        for _ in 0..offset / es {
            e = self.element_next[e as usize];
        }
        let mut within = offset % es;
        let mut rest = data;
        if within + data.len() > 2 * es {
            mta_reach::reach!("bufmgr: write across three elements");
        }
        while !rest.is_empty() {
            let (now, later) = rest.split_at(rest.len().min(es - within));
            let elem = &mut self.storage[e as usize];
            if elem.is_empty() {
                *elem = vec![0u8; es].into_boxed_slice();
            }
            elem[within..within + now.len()].copy_from_slice(now);
            rest = later;
            within = 0;
            e = self.element_next[e as usize];
        }
        Ok(())
    }

    /// Declare how many octets of the buffer hold data.
    pub fn set_len(&mut self, handle: BufferHandle, new_len: usize) -> Result<(), BufferError> {
        let capacity = self.capacity(handle)?;
        if new_len > capacity {
            return Err(BufferError::OutOfBounds {
                handle,
                offset: 0,
                len: new_len,
                capacity,
            });
        }
        self.live_mut(handle)?.len = new_len;
        Ok(())
    }

    /// The buffer's data as one slice per element, in chain order (zero-copy).
    pub fn chunks(
        &self,
        handle: BufferHandle,
    ) -> Result<impl Iterator<Item = &[u8]> + '_, ReleaseError> {
        let chain = self.live(handle)?;
        let mut remaining = chain.len;
        let es = self.limits.element_size as usize;
        let mut e = chain.first;
        Ok(std::iter::from_fn(move || {
            if remaining == 0 || e == NIL {
                return None;
            }
            let n = remaining.min(es);
            let elem = &self.storage[e as usize];
            remaining -= n;
            e = self.element_next[e as usize];
            Some(if elem.is_empty() {
                &self.zeros[..n]
            } else {
                &elem[..n]
            })
        }))
    }

    /// The first element's data (zero-copy): where message headers are laid out.
    pub fn head(&self, handle: BufferHandle) -> Result<&[u8], ReleaseError> {
        Ok(self.chunks(handle)?.next().unwrap_or(&[]))
    }

    /// Copy the buffer's data out.
    pub fn to_vec(&self, handle: BufferHandle) -> Result<Vec<u8>, ReleaseError> {
        let mut v = Vec::with_capacity(self.len(handle)?);
        for c in self.chunks(handle)? {
            v.extend_from_slice(c);
        }
        Ok(v)
    }

    /// `None` when nothing is outstanding (the quiescence oracle), else what leaked and who holds it.
    pub fn leak_report(&self) -> Option<LeakReport> {
        if self.outstanding == Outstanding::default() {
            return None;
        }
        let mut by_owner: BTreeMap<Component, Outstanding> = BTreeMap::new();
        let mut buffers = Vec::new();
        for (i, h) in self.headers.iter().enumerate() {
            if let Some(Chain {
                owner, elements, ..
            }) = h.chain
            {
                let o = by_owner.entry(owner).or_default();
                o.headers += 1;
                o.elements += elements;
                if buffers.len() < 32 {
                    buffers.push((
                        BufferHandle {
                            slot: i as u32,
                            generation: h.generation,
                        },
                        owner,
                    ));
                }
            }
        }
        Some(LeakReport {
            outstanding: self.outstanding,
            by_owner,
            buffers,
        })
    }

    /// Recount everything from the slots and check it against the running totals.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut h = 0u32;
        let mut e = 0u32;
        for slot in &self.headers {
            if let Some(Chain { elements, .. }) = slot.chain {
                h += 1;
                e += elements;
            }
        }
        if h != self.outstanding.headers || e != self.outstanding.elements {
            return Err(format!(
                "recount {h}/{e} != outstanding {}/{}",
                self.outstanding.headers, self.outstanding.elements
            ));
        }
        let total_elements = self.element_next.len() as u32;
        if total_elements - self.free_elements.len() as u32 != e {
            return Err("element free list out of step".into());
        }
        if self.headers.len() as u32 - self.free_headers.len() as u32 != h {
            return Err("header free list out of step".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_build::Build;

    fn mgr(b: Build) -> BufferManager {
        BufferManager::for_profile(&b.profile())
    }

    #[test]
    fn first_illegal_request_is_the_kb_one() {
        for (b, n) in [(Build::Ex40, 30), (Build::Ex50, 30), (Build::Ex55, 29)] {
            let mut m = mgr(b);
            assert!(m.request(Component::TcpDriver, n - 1, n - 1).is_ok(), "{b}");
            let err = m.request(Component::TcpDriver, n, n).unwrap_err();
            assert_eq!(
                err,
                BufferError::IllegalRequest {
                    component: Component::TcpDriver,
                    headers: n,
                    elements: n,
                    max_headers: n - 1,
                    max_elements: n - 1,
                }
            );
            assert_eq!(m.stats().illegal, 1);
        }
    }

    #[test]
    fn grants_deal_elements_and_release_returns_them() {
        let mut m = mgr(Build::Ex55Sp2);
        let bufs = m.request(Component::Nsi, 3, 7).unwrap();
        let counts: Vec<u32> = bufs.iter().map(|b| m.element_count(*b).unwrap()).collect();
        assert_eq!(counts, [3, 2, 2]);
        assert_eq!(
            m.outstanding(),
            Outstanding {
                headers: 3,
                elements: 7
            }
        );
        assert!(m.leak_report().is_some());
        for b in bufs {
            m.release(b).unwrap();
        }
        assert_eq!(m.leak_report(), None);
        m.check_invariants().unwrap();
    }

    #[test]
    fn double_and_stale_releases_are_detected() {
        let mut m = mgr(Build::Ex55);
        let a = m.request_for_len(Component::Pop4, 10).unwrap();
        m.release(a).unwrap();
        assert_eq!(m.release(a), Err(ReleaseError::DoubleRelease(a)));
        let b = m.request_for_len(Component::Pop4, 10).unwrap();
        assert_eq!(b.slot(), a.slot(), "LIFO reuse");
        assert_eq!(
            m.release(a),
            Err(ReleaseError::Stale {
                handle: a,
                current: b.generation()
            })
        );
        assert_eq!(m.stats().bad_releases, 2);
        m.release(b).unwrap();
        m.check_invariants().unwrap();
    }

    #[test]
    fn data_spans_the_element_chain() {
        let mut m = BufferManager::new(Limits {
            headers: 4,
            elements: 8,
            element_size: 4,
            max_headers_per_request: 4,
            max_elements_per_request: 8,
        });
        let b = m.request_for_len(Component::Harness, 10).unwrap();
        assert_eq!(m.element_count(b).unwrap(), 3);
        m.fill(b, b"0123456789").unwrap();
        let chunks: Vec<&[u8]> = m.chunks(b).unwrap().collect();
        assert_eq!(chunks, [&b"0123"[..], b"4567", b"89"]);
        m.write_at(b, 3, b"xyz").unwrap();
        assert_eq!(m.to_vec(b).unwrap(), b"012xyz6789");
        assert!(matches!(
            m.write_at(b, 12, b"z"),
            Err(BufferError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn exhaustion_is_not_illegal() {
        let mut m = BufferManager::new(Limits {
            headers: 2,
            elements: 2,
            element_size: 16,
            max_headers_per_request: 2,
            max_elements_per_request: 2,
        });
        let g = m.request(Component::Harness, 2, 2).unwrap();
        assert!(matches!(
            m.request(Component::Harness, 1, 0),
            Err(BufferError::Exhausted { .. })
        ));
        let report = m.leak_report().unwrap();
        assert_eq!(report.by_owner[&Component::Harness].headers, 2);
        for b in g {
            m.release(b).unwrap();
        }
        assert!(m.request(Component::Harness, 1, 0).is_ok());
    }

    fn small() -> BufferManager {
        BufferManager::new(Limits {
            headers: 8,
            elements: 16,
            element_size: 8,
            max_headers_per_request: 4,
            max_elements_per_request: 8,
        })
    }

    /// The lifetime counters count each grant, refusal and release once, and `free` is what a
    /// request may still take: the request that takes the last element is granted, the next
    /// legal one is refused as exhaustion with nothing free.
    #[test]
    fn counters_and_free_follow_grants_refusals_and_releases() {
        let mut m = small();
        let a = m.request(Component::Harness, 1, 8).unwrap();
        let b = m.request(Component::Harness, 2, 8).unwrap();
        assert_eq!(
            m.free(),
            Outstanding {
                headers: 5,
                elements: 0
            }
        );
        assert!(matches!(
            m.request(Component::Harness, 1, 1),
            Err(BufferError::Exhausted {
                free_headers: 5,
                free_elements: 0,
                ..
            })
        ));
        assert!(m.request(Component::Harness, 5, 1).is_err());
        assert!(m.request(Component::Harness, 1, 9).is_err());
        let s = m.stats();
        assert_eq!((s.granted, s.exhausted, s.illegal), (2, 1, 2));
        for h in a.into_iter().chain(b) {
            m.release(h).unwrap();
        }
        assert_eq!(m.stats().released, 3);
        assert_eq!(
            m.free(),
            Outstanding {
                headers: 8,
                elements: 16
            }
        );
        m.check_invariants().unwrap();
    }

    /// A handle the slot never had — generation 0, or one newer than the slot's — is unknown; an
    /// older one is stale (the slot was granted again).
    #[test]
    fn handles_from_no_grant_are_unknown_and_old_ones_stale() {
        let mut m = small();
        let a = m.request(Component::Harness, 1, 1).unwrap()[0];
        let never = BufferHandle {
            slot: a.slot,
            generation: 0,
        };
        let future = BufferHandle {
            slot: a.slot,
            generation: a.generation + 1,
        };
        assert_eq!(m.release(never), Err(ReleaseError::Unknown(never)));
        assert_eq!(m.release(future), Err(ReleaseError::Unknown(future)));
        m.release(a).unwrap();
        let b = m.request(Component::Harness, 1, 1).unwrap()[0];
        assert_eq!(
            m.release(a),
            Err(ReleaseError::Stale {
                handle: a,
                current: b.generation
            })
        );
    }

    /// Each bufmgr goal fires on the grant it names and on no other.
    #[cfg(not(mta_no_goals))]
    #[test]
    fn goals_fire_on_exactly_the_grants_they_name() {
        let mut m = small();
        let grant = |m: &mut BufferManager, h: u32, e: u32| {
            let (r, goals) = mta_reach::collect(|| m.request(Component::Harness, h, e));
            (r.unwrap(), goals)
        };
        let at_limit = "bufmgr: request at the per-request limit";
        let mixed = "bufmgr: chain of recycled and fresh elements";
        let last_element = "bufmgr: last free element granted";
        let last_header = "bufmgr: last free header granted";
        let (first, g) = grant(&mut m, 1, 2);
        assert!(
            g.is_empty(),
            "an ordinary first grant: {:?}",
            g.names().collect::<Vec<_>>()
        );
        assert!(grant(&mut m, 4, 4).1.contains(at_limit), "most headers");
        assert!(grant(&mut m, 1, 8).1.contains(at_limit), "most elements");
        for h in first {
            m.release(h).unwrap();
        }
        let (_, g) = grant(&mut m, 1, 1);
        assert!(!g.contains(mixed), "recycled elements only");
        let (_, g) = grant(&mut m, 1, 3);
        assert!(g.contains(mixed), "one recycled and two fresh elements");
        assert!(g.contains(last_element) && !g.contains(last_header));
        let mut m = small();
        let b = m.request(Component::Harness, 1, 3).unwrap()[0];
        let three = "bufmgr: write across three elements";
        let write = |m: &mut BufferManager, offset: usize, len: usize| {
            let (r, goals) = mta_reach::collect(|| m.write_at(b, offset, &vec![7; len]));
            r.unwrap();
            goals.contains(three)
        };
        assert!(!write(&mut m, 0, 16), "two whole elements");
        assert!(!write(&mut m, 8, 16), "the last two");
        assert!(write(&mut m, 0, 17), "one octet into the third");
        assert!(
            write(&mut m, 7, 10),
            "the last octet of the first, then two more elements"
        );
        let mut m = small();
        let (_, g) = grant(&mut m, 4, 4);
        assert!(!g.contains(last_header));
        let (_, g) = grant(&mut m, 4, 4);
        assert!(g.contains(last_header) && !g.contains(last_element));
    }

    /// A buffer's chunks are its data, one per element it fills: elements past the data (a
    /// request sized for more than was written) give no empty chunks.
    #[test]
    fn chunks_stop_at_the_data() {
        let mut m = small();
        let b = m.request(Component::Harness, 1, 3).unwrap()[0];
        assert_eq!(m.chunks(b).unwrap().count(), 0, "nothing written yet");
        m.fill(b, b"0123456789").unwrap();
        let chunks: Vec<&[u8]> = m.chunks(b).unwrap().collect();
        assert_eq!(chunks, [&b"01234567"[..], b"89"]);
    }

    /// The leak report blames each owner for its buffers and their elements, and lists the first
    /// 32 leaked buffers, lowest slot first.
    #[test]
    fn the_leak_report_counts_per_owner_and_lists_32_buffers() {
        let mut m = BufferManager::new(Limits {
            headers: 40,
            elements: 80,
            element_size: 8,
            max_headers_per_request: 40,
            max_elements_per_request: 80,
        });
        let nsi = m.request(Component::Nsi, 3, 7).unwrap();
        let pop4 = m.request(Component::Pop4, 37, 37).unwrap();
        let r = m.leak_report().unwrap();
        assert_eq!(
            r.by_owner[&Component::Nsi],
            Outstanding {
                headers: 3,
                elements: 7
            }
        );
        assert_eq!(
            r.by_owner[&Component::Pop4],
            Outstanding {
                headers: 37,
                elements: 37
            }
        );
        assert_eq!(r.buffers.len(), 32);
        let listed: Vec<BufferHandle> = r.buffers.iter().map(|(h, _)| *h).collect();
        let mut first: Vec<BufferHandle> = nsi.iter().chain(&pop4).copied().collect();
        first.sort_by_key(|h| h.slot);
        first.truncate(32);
        assert_eq!(listed, first);
        assert_eq!(r.buffers[0].1, Component::Nsi);
    }

    /// The invariant check is an oracle: it must fire on each way the books can disagree.
    #[test]
    fn the_invariant_check_fires_on_every_disagreement() {
        let healthy = || {
            let mut m = small();
            m.request(Component::Harness, 2, 5).unwrap();
            m.check_invariants().unwrap();
            m
        };
        let mut m = healthy();
        m.outstanding.headers += 1;
        assert!(m.check_invariants().unwrap_err().starts_with("recount"));
        let mut m = healthy();
        m.outstanding.elements -= 1;
        assert!(m.check_invariants().unwrap_err().starts_with("recount"));
        let mut m = healthy();
        m.free_elements.push(0);
        assert_eq!(
            m.check_invariants().unwrap_err(),
            "element free list out of step"
        );
        let mut m = healthy();
        m.free_headers.push(0);
        assert_eq!(
            m.check_invariants().unwrap_err(),
            "header free list out of step"
        );
    }
}
