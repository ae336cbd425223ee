//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): tile coordinates, the
//! tiles a tree of a given size has, paths, and entry bundles.
//!
//! A hash tile at tile level `L`, index `N` holds up to 256 stored hashes of
//! Merkle level `8L`: node indices `N*256 .. N*256 + W`. Nodes of levels
//! between multiples of 8 are not in any tile; they are rebuilt from the
//! 2^r hashes below them in the tile of level `8 * (level / 8)`
//! ([`TileSpan`]).
//!
//! Leaves out: fetching and storing tiles.

use crate::merkle::{Hash, NodeId};

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Merkle levels per tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Largest entry an entry bundle can hold.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// Errors of tile paths and bundles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// The path is not a canonical tile path.
    #[error("malformed tile path: {0}")]
    MalformedPath(&'static str),
    /// The bundle is not a well-formed sequence of entries.
    #[error("malformed entry bundle: {0}")]
    MalformedBundle(&'static str),
    /// The bundle holds a different number of entries than expected.
    #[error("entry bundle holds {got} entries, want {want}")]
    WrongBundleWidth {
        /// Entries found.
        got: usize,
        /// Entries expected.
        want: usize,
    },
    /// An entry is larger than 65,535 bytes.
    #[error("entry of {0} bytes exceeds 65535")]
    EntryTooLarge(usize),
    /// A tile's data has the wrong length.
    #[error("hash tile of {got} bytes, want {want}")]
    WrongTileLength {
        /// Bytes given.
        got: usize,
        /// Bytes expected.
        want: usize,
    },
}

/// A tile: hash tile at `level`, or (with `level == None`) an entry bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    /// Tile level 0..=63 for hash tiles; `None` for entry bundles.
    pub level: Option<u8>,
    /// Tile index.
    pub index: u64,
    /// Width 1..=256; 256 is a full tile.
    pub width: u16,
}

impl Tile {
    /// Whether this is a full (immutable) tile.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The path below the log prefix, e.g. `tile/0/x001/234.p/5`.
    pub fn path(&self) -> String {
        let mut s = String::from("tile/");
        match self.level {
            Some(l) => s.push_str(&l.to_string()),
            None => s.push_str("entries"),
        }
        s.push('/');
        s.push_str(&encode_index(self.index));
        if !self.is_full() {
            s.push_str(".p/");
            s.push_str(&self.width.to_string());
        }
        s
    }

    /// Parses a path below the log prefix, strictly (canonical form only).
    pub fn parse_path(path: &str) -> Result<Tile, TileError> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or(TileError::MalformedPath("must start with tile/"))?;
        let (lvl, rest) = rest
            .split_once('/')
            .ok_or(TileError::MalformedPath("missing level"))?;
        let level = if lvl == "entries" {
            None
        } else {
            let l = parse_decimal(lvl).ok_or(TileError::MalformedPath("bad level"))?;
            if l > 63 {
                return Err(TileError::MalformedPath("level above 63"));
            }
            Some(l as u8)
        };
        let (idx, width) = match rest.split_once(".p/") {
            Some((idx, w)) => {
                let w = parse_decimal(w).ok_or(TileError::MalformedPath("bad partial width"))?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return Err(TileError::MalformedPath("partial width must be 1..255"));
                }
                (idx, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = decode_index(idx)?;
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// The Merkle level of the hashes in a hash tile.
    pub fn merkle_level(&self) -> Option<u8> {
        self.level.map(|l| l * TILE_HEIGHT)
    }

    /// The stored hashes a hash tile holds, in order.
    pub fn node_ids(&self) -> Vec<NodeId> {
        let level = self.merkle_level().unwrap_or(0);
        let first = self.index * TILE_WIDTH;
        (0..u64::from(self.width))
            .map(|i| NodeId::new(level, first + i))
            .collect()
    }
}

/// Encodes a tile index as 3-digit groups: 1234067 -> `x001/x234/067`.
pub fn encode_index(n: u64) -> String {
    let mut groups = Vec::new();
    let mut n = n;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let mut s = String::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            s.push_str(&format!("x{g:03}/"));
        } else {
            s.push_str(&format!("{g:03}"));
        }
    }
    s
}

fn decode_index(s: &str) -> Result<u64, TileError> {
    let parts: Vec<&str> = s.split('/').collect();
    let mut n: u64 = 0;
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let digits = if last {
            *p
        } else {
            p.strip_prefix('x').ok_or(TileError::MalformedPath(
                "index groups but the last need an 'x'",
            ))?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TileError::MalformedPath("index groups are 3 digits"));
        }
        if i == 0 && !last && digits == "000" {
            return Err(TileError::MalformedPath("index has a leading zero group"));
        }
        let g: u64 = digits
            .parse()
            .map_err(|_| TileError::MalformedPath("bad index"))?;
        n = n
            .checked_mul(1000)
            .and_then(|n| n.checked_add(g))
            .ok_or(TileError::MalformedPath("index overflows"))?;
    }
    Ok(n)
}

/// Decimal without sign or leading zeros ("0" itself is fine), up to u64.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty()
        || s.len() > 20
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Width of hash tile `index` at tile `level` in a tree of `size`, or `None`
/// if that tile does not exist (yet).
pub fn tile_width(level: u8, index: u64, size: u64) -> Option<u16> {
    let shift = u32::from(level) * 8;
    if shift >= 64 {
        return None;
    }
    let nodes = size >> shift; // stored hashes at merkle level 8L
    tile_width_of(index, nodes)
}

/// Width of entry bundle `index` in a tree of `size`.
pub fn bundle_width(index: u64, size: u64) -> Option<u16> {
    tile_width_of(index, size)
}

fn tile_width_of(index: u64, count: u64) -> Option<u16> {
    let full = count / TILE_WIDTH;
    if index < full {
        Some(TILE_WIDTH as u16)
    } else if index == full && count % TILE_WIDTH != 0 {
        Some((count % TILE_WIDTH) as u16)
    } else {
        None
    }
}

/// Where to find a stored hash among tiles: the hash tile that holds the
/// hashes it is built from, and the range of those hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileSpan {
    /// Tile level.
    pub level: u8,
    /// Tile index.
    pub index: u64,
    /// First hash within the tile.
    pub start: u16,
    /// One past the last hash within the tile.
    pub end: u16,
}

/// The tile span of node `id`: a node at Merkle level `8L + r` is the
/// perfect subtree over `2^r` hashes of tile level `L`.
pub fn node_span(id: NodeId) -> TileSpan {
    let level = id.level / TILE_HEIGHT;
    let r = u32::from(id.level % TILE_HEIGHT);
    let first = id.index << r; // index of first hash at level 8L
    let tile = first / TILE_WIDTH;
    let start = (first % TILE_WIDTH) as u16;
    TileSpan {
        level,
        index: tile,
        start,
        end: start + (1u16 << r),
    }
}

/// Rebuilds a node from the tile hashes of its [`TileSpan`].
pub fn node_from_tile_hashes(hashes: &[Hash]) -> Hash {
    let mut layer: Vec<Hash> = hashes.to_vec();
    while layer.len() > 1 {
        layer = layer
            .chunks(2)
            .map(|p| {
                if p.len() == 2 {
                    crate::merkle::node_hash(&p[0], &p[1])
                } else {
                    p[0]
                }
            })
            .collect();
    }
    layer.first().copied().unwrap_or(crate::merkle::EMPTY_ROOT)
}

/// Splits a hash tile's bytes into hashes; its length must be `32 * width`.
pub fn parse_hash_tile(data: &[u8], width: u16) -> Result<Vec<Hash>, TileError> {
    let want = 32 * usize::from(width);
    if data.len() != want {
        return Err(TileError::WrongTileLength {
            got: data.len(),
            want,
        });
    }
    Ok(data
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// Encodes entries as a bundle: each a big-endian u16 length and its bytes.
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes a bundle strictly: whole entries only, nothing trailing.
pub fn decode_bundle(data: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(TileError::MalformedBundle("truncated length"));
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        if rest.len() < len {
            return Err(TileError::MalformedBundle("truncated entry"));
        }
        out.push(&rest[..len]);
        rest = &rest[len..];
        if out.len() > TILE_WIDTH as usize {
            return Err(TileError::MalformedBundle("more than 256 entries"));
        }
    }
    Ok(out)
}

/// Decodes a bundle and checks it holds exactly `width` entries.
pub fn decode_bundle_width(data: &[u8], width: u16) -> Result<Vec<&[u8]>, TileError> {
    let v = decode_bundle(data)?;
    if v.len() != usize::from(width) {
        return Err(TileError::WrongBundleWidth {
            got: v.len(),
            want: usize::from(width),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(5), "005");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        for n in [0u64, 1, 999, 1000, 1234067, u64::MAX] {
            assert_eq!(decode_index(&encode_index(n)).unwrap(), n);
        }
    }

    #[test]
    fn paths_round_trip_and_reject_non_canonical() {
        let t = Tile::parse_path("tile/0/x001/234.p/5").unwrap();
        assert_eq!(
            t,
            Tile {
                level: Some(0),
                index: 1234,
                width: 5
            }
        );
        assert_eq!(t.path(), "tile/0/x001/234.p/5");
        let e = Tile::parse_path("tile/entries/067").unwrap();
        assert_eq!(
            e,
            Tile {
                level: None,
                index: 67,
                width: 256
            }
        );
        for bad in [
            "tile/0/1",
            "tile/0/01",
            "tile/00/001",
            "tile/64/001",
            "tile/0/x000/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/05",
            "tile/0/001/",
            "tile/0/x001",
            "tile/0/001.p/",
            "tile/-1/001",
            "tile/entries/x1/001",
            "tiles/0/001",
            "tile/0/x99999999999999999/000",
        ] {
            assert!(Tile::parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spec_example_size_70000() {
        let size = 70_000u64;
        assert_eq!(tile_width(0, 272, size), Some(256));
        assert_eq!(tile_width(0, 273, size), Some(112));
        assert_eq!(tile_width(0, 274, size), None);
        assert_eq!(tile_width(1, 0, size), Some(256));
        assert_eq!(tile_width(1, 1, size), Some(17));
        assert_eq!(tile_width(2, 0, size), Some(1));
        assert_eq!(tile_width(3, 0, size), None);
    }

    #[test]
    fn bundles() {
        let entries: Vec<&[u8]> = vec![b"a", b"", b"hello"];
        let b = encode_bundle(entries.iter().copied()).unwrap();
        assert_eq!(decode_bundle_width(&b, 3).unwrap(), entries);
        assert!(decode_bundle(&b[..b.len() - 1]).is_err());
        assert!(decode_bundle(&[0]).is_err());
        assert!(decode_bundle_width(&b, 2).is_err());
        let big = vec![0u8; 65536];
        assert!(encode_bundle([big.as_slice()]).is_err());
    }

    #[test]
    fn spans() {
        assert_eq!(
            node_span(NodeId::new(0, 300)),
            TileSpan {
                level: 0,
                index: 1,
                start: 44,
                end: 45
            }
        );
        assert_eq!(
            node_span(NodeId::new(3, 5)),
            TileSpan {
                level: 0,
                index: 0,
                start: 40,
                end: 48
            }
        );
        assert_eq!(
            node_span(NodeId::new(8, 2)),
            TileSpan {
                level: 1,
                index: 0,
                start: 2,
                end: 3
            }
        );
    }
}
