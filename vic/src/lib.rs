//! `vic`: the VIC control path (vic-machine, the VCH Docker endpoint, port layer, tether). Not yet built: see issue "vic".
