package web

// taskRoutes are the routes of the tasks feature.
func (s *Server) taskRoutes() []Route {
	return nil
}
