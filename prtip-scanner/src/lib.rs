//! prtip-scanner: the scan engines. All sockets live here.
