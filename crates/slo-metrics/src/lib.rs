//! SLO metrics over the edgeforge ports (work in progress, issue 7).
