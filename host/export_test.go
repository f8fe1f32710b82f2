package host

// GuestLimits exposes guestLimits to the external tests.
var GuestLimits = guestLimits
