//! The well-known RTS PDUs (MS-RPCH 2.2.4): CONN/A1..C2, keep-alive, flow-control ack,
//! ping, echo, channel recycling, told apart by their flags and command sequence.

use std::fmt;

use super::{rts_flags, Command, CommandType};

/// The well-known RTS PDUs (MS-RPCH 2.2.4), told apart by flags and command sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sequence {
    /// Client to outbound proxy, first PDU of the OUT channel.
    ConnA1,
    /// Outbound proxy to server.
    ConnA2,
    /// Outbound proxy to client: the OUT channel is accepted.
    ConnA3,
    /// Client to inbound proxy, first PDU of the IN channel.
    ConnB1,
    /// Inbound proxy to server.
    ConnB2,
    /// Server to inbound proxy.
    ConnB3,
    /// CONN/C1 (server to outbound proxy) and CONN/C2 (outbound proxy to client) share one
    /// layout; the direction tells them apart. Named "CONN/C2" (what a client-side
    /// capture sees); see [`Sequence::name_on_server_leg`].
    ConnC,
    /// Client keep-alive (OTHER_CMD, ClientKeepalive).
    KeepAlive,
    /// Flow control ack (OTHER_CMD, FlowControlAck), with or without a Destination.
    FlowControlAck,
    /// Ping (PING, no commands).
    Ping,
    /// Ping traffic sent notify.
    PingTrafficSentNotify,
    /// Echo (ECHO, no commands).
    Echo,
    /// A channel recycling PDU (IN_R*/OUT_R*, RECYCLE_CHANNEL or ANCE/NegativeANCE).
    Recycle,
    /// A PDU with an end-of-channel flag (EOF).
    Eof,
    Other,
}

impl Sequence {
    /// Recognises a PDU from its flags and commands.
    pub fn of(flags: u16, cmds: &[Command]) -> Sequence {
        use rts_flags as f;
        use CommandType as T;
        let types: Vec<CommandType> = cmds.iter().map(Command::command_type).collect();
        let is = |want: &[CommandType]| types.as_slice() == want;
        match flags {
            f::NONE if is(&[T::VERSION, T::COOKIE, T::COOKIE, T::RECEIVE_WINDOW_SIZE]) => {
                Sequence::ConnA1
            }
            f::OUT_CHANNEL
                if is(&[
                    T::VERSION,
                    T::COOKIE,
                    T::COOKIE,
                    T::CHANNEL_LIFETIME,
                    T::RECEIVE_WINDOW_SIZE,
                ]) =>
            {
                Sequence::ConnA2
            }
            f::NONE if is(&[T::CONNECTION_TIMEOUT]) => Sequence::ConnA3,
            f::NONE
                if is(&[
                    T::VERSION,
                    T::COOKIE,
                    T::COOKIE,
                    T::CHANNEL_LIFETIME,
                    T::CLIENT_KEEPALIVE,
                    T::ASSOCIATION_GROUP_ID,
                ]) =>
            {
                Sequence::ConnB1
            }
            f::IN_CHANNEL
                if is(&[
                    T::VERSION,
                    T::COOKIE,
                    T::COOKIE,
                    T::RECEIVE_WINDOW_SIZE,
                    T::CONNECTION_TIMEOUT,
                    T::ASSOCIATION_GROUP_ID,
                    T::CLIENT_ADDRESS,
                ]) =>
            {
                Sequence::ConnB2
            }
            f::NONE if is(&[T::RECEIVE_WINDOW_SIZE, T::VERSION]) => Sequence::ConnB3,
            f::NONE if is(&[T::VERSION, T::RECEIVE_WINDOW_SIZE, T::CONNECTION_TIMEOUT]) => {
                Sequence::ConnC
            }
            _ if flags & f::RECYCLE_CHANNEL != 0
                || types.iter().any(|t| matches!(*t, T::ANCE | T::NEGATIVE_ANCE)) =>
            {
                Sequence::Recycle
            }
            f::OTHER_CMD if is(&[T::CLIENT_KEEPALIVE]) => Sequence::KeepAlive,
            f::OTHER_CMD
                if is(&[T::FLOW_CONTROL_ACK]) || is(&[T::DESTINATION, T::FLOW_CONTROL_ACK]) =>
            {
                Sequence::FlowControlAck
            }
            f::PING if types.is_empty() => Sequence::Ping,
            _ if is(&[T::PING_TRAFFIC_SENT_NOTIFY]) => Sequence::PingTrafficSentNotify,
            f::ECHO if types.is_empty() => Sequence::Echo,
            _ if flags & f::EOF != 0 => Sequence::Eof,
            _ => Sequence::Other,
        }
    }

    /// The name MS-RPCH uses (CONN/C1 and C2 share a layout: "CONN/C2").
    pub fn name(self) -> &'static str {
        match self {
            Sequence::ConnA1 => "CONN/A1",
            Sequence::ConnA2 => "CONN/A2",
            Sequence::ConnA3 => "CONN/A3",
            Sequence::ConnB1 => "CONN/B1",
            Sequence::ConnB2 => "CONN/B2",
            Sequence::ConnB3 => "CONN/B3",
            Sequence::ConnC => "CONN/C2",
            Sequence::KeepAlive => "keep-alive",
            Sequence::FlowControlAck => "flow-control ack",
            Sequence::Ping => "ping",
            Sequence::PingTrafficSentNotify => "ping traffic sent notify",
            Sequence::Echo => "echo",
            Sequence::Recycle => "channel recycle",
            Sequence::Eof => "EOF",
            Sequence::Other => "other RTS",
        }
    }

    /// The name on the proxy-to-server leg (port 593), where the shared layout is CONN/C1.
    pub fn name_on_server_leg(self) -> &'static str {
        if self == Sequence::ConnC {
            "CONN/C1"
        } else {
            self.name()
        }
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
