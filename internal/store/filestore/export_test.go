package filestore

// VerifyIndex checks s's index against a recomputation (for the external
// tests).
func VerifyIndex(s *Store) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idx.verify()
}
