import DrvHostSystem

/// The old name of SystemCallError, still spelled so in the block and net
/// files (Block*, UblkDisk, EventLoop, Net*, TAPInterface), which other
/// work changed in the same session; renamed there after the merge.
public typealias Errno = SystemCallError
