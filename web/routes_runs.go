package web

// runRoutes are the routes of the runs feature.
func (s *Server) runRoutes() []Route {
	return nil
}
