package app

// WaitSnapshots waits for a snapshot being taken in the background.
func (a *App) WaitSnapshots() { a.snaps.wait() }
