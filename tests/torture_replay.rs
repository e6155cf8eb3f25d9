//! smbtorture smb2.replay (issues 7 and 8): ChannelSequence and REPLAY_OPERATION handling
//! (src/server/replay.rs) and replays of durable v2 CREATEs by CreateGuid, also of CREATEs
//! still waiting for a break when their channel is lost or blocked. Run inside a network
//! namespace of its own (see tests/common/torture.rs `Netns`): the dhv2-pending3* tests block
//! channels with iptables (`torture:use_iptables=yes`). Needs root.
mod common;

#[test]
fn replay_suite() {
    common::torture::run_group_netns("replay");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey_netns();
}
