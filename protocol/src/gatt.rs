//! The GATT layout (PROTOCOL.md §3).

pub const SERVICE: &str = "4c4b0001-5d8e-4f0a-9b1c-6a2e7d3f1000";
/// Host → key: write, write without response.
pub const HOST_TO_KEY: &str = "4c4b0002-5d8e-4f0a-9b1c-6a2e7d3f1000";
/// Key → host: notify.
pub const KEY_TO_HOST: &str = "4c4b0003-5d8e-4f0a-9b1c-6a2e7d3f1000";
/// The beacon, readable.
pub const INFO: &str = "4c4b0004-5d8e-4f0a-9b1c-6a2e7d3f1000";
/// The Client Characteristic Configuration Descriptor every notifying characteristic has.
pub const CCCD: &str = "00002902-0000-1000-8000-00805f9b34fb";

/// Largest characteristic value.
pub const MAX_VALUE: usize = 512;

/// Chunk size for an ATT_MTU: MTU − 3, at least 20, at most 512.
pub fn chunk_size(att_mtu: u16) -> usize {
    (att_mtu as usize).saturating_sub(3).clamp(20, MAX_VALUE)
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunk_sizes_follow_the_mtu() {
        assert_eq!(super::chunk_size(23), 20);
        assert_eq!(super::chunk_size(247), 244);
        assert_eq!(super::chunk_size(0), 20);
        assert_eq!(super::chunk_size(1000), 512);
    }
}
