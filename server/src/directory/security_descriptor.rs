//! Just enough of the binary security descriptor format for one setting: does the object's
//! DACL deny "Change Password" to the user themselves (SELF) or to Everyone? That is how Active
//! Directory stores "user cannot change password" (the userAccountControl bit is not stored).
//! Read it, and set or clear it.

/// The User-Change-Password extended right, ab721a53-1e2f-11d0-9819-00aa0040529b, in its
/// on-the-wire byte order (first three fields little-endian).
const CHANGE_PASSWORD: [u8; 16] =
    [0x53, 0x1a, 0x72, 0xab, 0x2f, 0x1e, 0xd0, 0x11, 0x98, 0x19, 0x00, 0xaa, 0x00, 0x40, 0x52, 0x9b];
/// S-1-1-0, Everyone.
const EVERYONE: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
/// S-1-5-10, Principal Self.
const SELF: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 10, 0, 0, 0];

const ACCESS_DENIED_OBJECT_ACE: u8 = 0x06;
const INHERIT_ONLY_ACE: u8 = 0x08;
const CONTROL_ACCESS: u32 = 0x100;
const OBJECT_TYPE_PRESENT: u32 = 0x1;
const INHERITED_OBJECT_TYPE_PRESENT: u32 = 0x2;

/// True when the DACL in `sd` (self-relative form) denies the change-password right to SELF or
/// Everyone. A descriptor that cannot be parsed answers `None`.
pub fn denies_password_change(sd: &[u8]) -> Option<bool> {
    for ace in dacl_aces(sd)? {
        if ace[0] == ACCESS_DENIED_OBJECT_ACE && ace[1] & INHERIT_ONLY_ACE == 0 && denies(ace)? {
            return Some(true);
        }
    }
    Some(false)
}

fn denies(ace: &[u8]) -> Option<bool> {
    let mask = u32_at(ace, 4)?;
    let flags = u32_at(ace, 8)?;
    let mut pos = 12;
    if flags & OBJECT_TYPE_PRESENT == 0 {
        return Some(false);
    }
    let object_type = ace.get(pos..pos + 16)?;
    pos += 16;
    if flags & INHERITED_OBJECT_TYPE_PRESENT != 0 {
        pos += 16;
    }
    let sid = ace.get(pos..)?;
    let for_user = sid.starts_with(&EVERYONE) || sid.starts_with(&SELF);
    Some(mask & CONTROL_ACCESS != 0 && object_type == CHANGE_PASSWORD && for_user)
}

const ACCESS_ALLOWED_OBJECT_ACE_REVISION: u8 = 4;
const INHERITED_ACE: u8 = 0x10;
const SE_DACL_PRESENT: u16 = 0x0004;
const SE_SELF_RELATIVE: u16 = 0x8000;
/// Control bits that describe the DACL and are kept: auto-inherit requested/done, protected.
const DACL_CONTROL_BITS: u16 = 0x0100 | 0x0400 | 0x1000;

/// A self-relative descriptor holding only `sd`'s DACL, with the deny-change-password ACEs for
/// SELF and Everyone added first (`deny`) or removed (explicit ones only: inherited ACEs are
/// the parent's). Written back with the SD-flags control for the DACL alone, it changes nothing
/// else. `None` when `sd` cannot be parsed.
pub fn with_password_change_denied(sd: &[u8], deny: bool) -> Option<Vec<u8>> {
    let control = u16::from_le_bytes(sd.get(2..4)?.try_into().ok()?);
    let dacl_offset = u32_at(sd, 16)? as usize;
    let mut aces: Vec<Vec<u8>> = Vec::new();
    let mut revision = ACCESS_ALLOWED_OBJECT_ACE_REVISION;
    if dacl_offset != 0 {
        let acl = sd.get(dacl_offset..)?;
        revision = revision.max(*acl.first()?);
        let mut pos = 8;
        for _ in 0..u16_at(acl, 4)? {
            let ace = acl.get(pos..)?;
            let size = u16_at(ace, 2)? as usize;
            if size < 4 {
                return None;
            }
            let ace = ace.get(..size)?;
            let ours = ace[0] == ACCESS_DENIED_OBJECT_ACE && ace[1] & INHERITED_ACE == 0 && denies(ace)?;
            if !ours {
                aces.push(ace.to_vec());
            }
            pos += size;
        }
    }
    if deny {
        // Explicit denies come first in canonical order.
        aces.insert(0, deny_ace(&SELF));
        aces.insert(0, deny_ace(&EVERYONE));
    }
    let acl_size = 8 + aces.iter().map(Vec::len).sum::<usize>();
    let mut out = Vec::with_capacity(20 + acl_size);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(SE_DACL_PRESENT | SE_SELF_RELATIVE | (control & DACL_CONTROL_BITS)).to_le_bytes());
    out.extend_from_slice(&[0; 12]); // no owner, group or SACL
    out.extend_from_slice(&20u32.to_le_bytes());
    out.extend_from_slice(&[revision, 0]);
    out.extend_from_slice(&u16::try_from(acl_size).ok()?.to_le_bytes());
    out.extend_from_slice(&u16::try_from(aces.len()).ok()?.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    for ace in aces {
        out.extend_from_slice(&ace);
    }
    Some(out)
}

fn deny_ace(sid: &[u8; 12]) -> Vec<u8> {
    let mut ace = vec![ACCESS_DENIED_OBJECT_ACE, 0];
    ace.extend_from_slice(&40u16.to_le_bytes());
    ace.extend_from_slice(&CONTROL_ACCESS.to_le_bytes());
    ace.extend_from_slice(&OBJECT_TYPE_PRESENT.to_le_bytes());
    ace.extend_from_slice(&CHANGE_PASSWORD);
    ace.extend_from_slice(sid);
    ace
}

/// The Reset-Password extended right, 00299570-246d-11d0-a768-00aa006e0529, on the wire.
pub const RESET_PASSWORD: [u8; 16] =
    [0x70, 0x95, 0x29, 0x00, 0x6d, 0x24, 0xd0, 0x11, 0xa7, 0x68, 0x00, 0xaa, 0x00, 0x6e, 0x05, 0x29];
/// The User-Change-Password extended right.
pub const USER_CHANGE_PASSWORD: [u8; 16] = CHANGE_PASSWORD;
/// S-1-5-11, Authenticated Users.
pub const AUTHENTICATED_USERS: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0];
pub const EVERYONE_SID: [u8; 12] = EVERYONE;

const ACCESS_ALLOWED_ACE: u8 = 0x00;
const ACCESS_ALLOWED_OBJECT_ACE: u8 = 0x05;
const GENERIC_ALL: u32 = 0x1000_0000;
/// ADS_RIGHT_GENERIC_ALL as the directory stores it expanded (full control).
const FULL_CONTROL: u32 = 0x000f_01ff;

/// Whether the DACL in `sd` grants the extended right `right` to one of `sids` (the account's
/// own and its groups'): an allow ACE with control access for that right or for all rights, or
/// full control. Deny ACEs are not weighed: the directory's answer to an attempt has the last
/// word; this tells an administrator whether the grant is there at all.
pub fn grants_right(sd: &[u8], right: &[u8; 16], sids: &[Vec<u8>]) -> Option<bool> {
    for ace in dacl_aces(sd)? {
        if ace[1] & INHERIT_ONLY_ACE != 0 || ace.len() < 8 {
            continue;
        }
        let mask = u32_at(ace, 4)?;
        let (object_type, sid) = match ace[0] {
            ACCESS_ALLOWED_ACE => (None, ace.get(8..)?),
            ACCESS_ALLOWED_OBJECT_ACE => {
                let flags = u32_at(ace, 8)?;
                let mut at = 12;
                let object = if flags & OBJECT_TYPE_PRESENT != 0 {
                    at += 16;
                    Some(ace.get(12..28)?)
                } else {
                    None
                };
                if flags & INHERITED_OBJECT_TYPE_PRESENT != 0 {
                    at += 16;
                }
                (object, ace.get(at..)?)
            }
            _ => continue,
        };
        let full = mask & GENERIC_ALL != 0 || mask & FULL_CONTROL == FULL_CONTROL;
        let this_right = mask & CONTROL_ACCESS != 0 && object_type.is_none_or(|o| o == right);
        if (full || this_right) && sids.iter().any(|s| sid.starts_with(s) && sid.len() >= s.len()) {
            return Some(true);
        }
    }
    Some(false)
}

/// The ACEs of the DACL in `sd` (self-relative form), each whole; none when there is no DACL.
/// `None` when the descriptor cannot be parsed.
fn dacl_aces(sd: &[u8]) -> Option<Vec<&[u8]>> {
    let dacl_offset = u32_at(sd, 16)? as usize;
    if dacl_offset == 0 {
        return Some(Vec::new());
    }
    let acl = sd.get(dacl_offset..)?;
    let mut aces = Vec::new();
    let mut pos = 8;
    for _ in 0..u16_at(acl, 4)? {
        let ace = acl.get(pos..)?;
        let size = u16_at(ace, 2)? as usize;
        if size < 4 {
            return None;
        }
        aces.push(ace.get(..size)?);
        pos += size;
    }
    Some(aces)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ace(ace_type: u8, ace_flags: u8, mask: u32, object: Option<[u8; 16]>, sid: &[u8]) -> Vec<u8> {
        let mut body = mask.to_le_bytes().to_vec();
        body.extend_from_slice(&(object.is_some() as u32).to_le_bytes());
        if let Some(o) = object {
            body.extend_from_slice(&o);
        }
        body.extend_from_slice(sid);
        let mut ace = vec![ace_type, ace_flags];
        ace.extend_from_slice(&((body.len() + 4) as u16).to_le_bytes());
        ace.extend(body);
        ace
    }

    fn descriptor(aces: &[Vec<u8>]) -> Vec<u8> {
        let mut sd = vec![1, 0, 0x04, 0x80];
        sd.extend_from_slice(&[0; 12]); // owner, group, sacl: absent
        sd.extend_from_slice(&20u32.to_le_bytes());
        let body: Vec<u8> = aces.concat();
        sd.extend_from_slice(&[4, 0]);
        sd.extend_from_slice(&((body.len() + 8) as u16).to_le_bytes());
        sd.extend_from_slice(&(aces.len() as u16).to_le_bytes());
        sd.extend_from_slice(&[0, 0]);
        sd.extend(body);
        sd
    }

    #[test]
    fn finds_deny_for_self_and_everyone() {
        for sid in [SELF, EVERYONE] {
            let sd = descriptor(&[ace(0x06, 0, CONTROL_ACCESS, Some(CHANGE_PASSWORD), &sid)]);
            assert_eq!(denies_password_change(&sd), Some(true));
        }
    }

    #[test]
    fn ignores_allow_other_rights_other_sids_and_inherit_only() {
        let other_sid = [1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0];
        let mut other_right = CHANGE_PASSWORD;
        other_right[0] ^= 1;
        let sd = descriptor(&[
            ace(0x05, 0, CONTROL_ACCESS, Some(CHANGE_PASSWORD), &SELF),
            ace(0x06, 0, CONTROL_ACCESS, Some(other_right), &SELF),
            ace(0x06, 0, CONTROL_ACCESS, Some(CHANGE_PASSWORD), &other_sid),
            ace(0x06, INHERIT_ONLY_ACE, CONTROL_ACCESS, Some(CHANGE_PASSWORD), &SELF),
            ace(0x06, 0, 0x10, Some(CHANGE_PASSWORD), &SELF),
            ace(0x06, 0, CONTROL_ACCESS, None, &SELF),
        ]);
        assert_eq!(denies_password_change(&sd), Some(false));
    }

    #[test]
    fn a_granted_right_is_found_for_the_accounts_sids_only() {
        let service = vec![1, 2, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 9, 9, 9, 9];
        let other = vec![1, 2, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 8, 8, 8, 8];
        let reset = ace(0x05, 0x10, CONTROL_ACCESS, Some(RESET_PASSWORD), &service);
        let sd = descriptor(std::slice::from_ref(&reset));
        assert_eq!(grants_right(&sd, &RESET_PASSWORD, std::slice::from_ref(&service)), Some(true));
        assert_eq!(
            grants_right(&sd, &RESET_PASSWORD, std::slice::from_ref(&other)),
            Some(false),
            "someone else's grant"
        );
        assert_eq!(grants_right(&sd, &CHANGE_PASSWORD, std::slice::from_ref(&service)), Some(false), "another right");
        let inherit_only = descriptor(&[ace(0x05, INHERIT_ONLY_ACE, CONTROL_ACCESS, Some(RESET_PASSWORD), &service)]);
        assert_eq!(grants_right(&inherit_only, &RESET_PASSWORD, std::slice::from_ref(&service)), Some(false));
        let all_rights = descriptor(&[ace(0x05, 0, CONTROL_ACCESS, None, &EVERYONE)]);
        assert_eq!(grants_right(&all_rights, &RESET_PASSWORD, &[EVERYONE.to_vec()]), Some(true));
    }

    #[test]
    fn truncated_descriptor_is_unknown() {
        let sd = descriptor(&[ace(0x06, 0, CONTROL_ACCESS, Some(CHANGE_PASSWORD), &SELF)]);
        assert_eq!(denies_password_change(&sd[..sd.len() - 20]), None);
        assert_eq!(denies_password_change(&[1, 0]), None);
    }

    #[test]
    fn denying_and_allowing_round_trip_and_keep_other_aces() {
        let other = ace(0x05, 0, CONTROL_ACCESS, Some([7; 16]), &EVERYONE);
        let original = descriptor(std::slice::from_ref(&other));
        assert_eq!(denies_password_change(&original), Some(false));
        let denied = with_password_change_denied(&original, true).unwrap();
        assert_eq!(denies_password_change(&denied), Some(true));
        let again = with_password_change_denied(&denied, true).unwrap();
        assert_eq!(again, denied, "denying twice adds nothing");
        let allowed = with_password_change_denied(&denied, false).unwrap();
        assert_eq!(denies_password_change(&allowed), Some(false));
        assert!(allowed.windows(other.len()).any(|w| w == other.as_slice()), "other ACEs stay");
        assert_eq!(with_password_change_denied(&[1, 2], true), None);
    }
}
