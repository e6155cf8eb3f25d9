//! rsmbd: an SMB 2.x/3.x file server.
//!
//! Layers, top to bottom (data flows down and back up; no layer reaches past its neighbour):
//! - [`transport`]: TCP and SMB Direct, behind one trait that also places bulk data by RDMA.
//! - [`server`]: connection, session, tree and open state; one handler per command.
//! - [`wire`]: pure decoders/encoders of SMB2 messages. [`crypto`] and [`auth`] beside it.
//! - [`vfs`]: the share backend behind a trait.
pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod server;
pub mod transport;
pub mod vfs;
pub mod wire;
