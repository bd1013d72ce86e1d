// Which `accept` failures a server outlives, for servers that do not call
// `Listener.accept(reporting:)` (the event loops of chapters 11 and 12).

public enum AcceptErrors {
    /// The failure belongs to one connection (`ECONNABORTED`…): skip it, accept the next.
    public static func belongToOneConnection(_ code: Int32) -> Bool { Platform.acceptErrorsToSkip.contains(code) }

    /// Out of descriptors or memory (`EMFILE`…): wait a little, then try again.
    public static func areShortages(_ code: Int32) -> Bool { Platform.acceptErrorsToWaitOut.contains(code) }
}
