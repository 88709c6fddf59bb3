using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class DashboardSessions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "dashboard_sessions",
                columns: table => new
                {
                    session_id = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    key_id = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    created_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    expires_at = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_dashboard_sessions", x => x.session_id);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "dashboard_sessions");
        }
    }
}
