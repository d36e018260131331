//! Allocation of kits and cash under every budget (see DESIGN.md, "Allocation").
