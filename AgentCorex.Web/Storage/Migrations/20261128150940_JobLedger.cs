using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations
{
    /// <inheritdoc />
    public partial class JobLedger : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "jobs",
                columns: table => new
                {
                    job_id = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    hangfire_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    owner_key_id = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    tool = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    arguments = table.Column<string>(type: "TEXT", nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    timeout_ms = table.Column<int>(type: "INTEGER", nullable: false),
                    attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    started_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    completed_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    execution_time_ms = table.Column<long>(type: "INTEGER", nullable: true),
                    result = table.Column<string>(type: "TEXT", nullable: true),
                    error_code = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    error_message = table.Column<string>(type: "TEXT", nullable: true),
                    error_details = table.Column<string>(type: "TEXT", nullable: true),
                    tokens_input = table.Column<long>(type: "INTEGER", nullable: false),
                    tokens_output = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_jobs", x => x.job_id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_created",
                table: "jobs",
                columns: new[] { "owner_key_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_status_created",
                table: "jobs",
                columns: new[] { "owner_key_id", "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_status_created",
                table: "jobs",
                columns: new[] { "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_tool_status_completed",
                table: "jobs",
                columns: new[] { "tool", "status", "completed_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "jobs");
        }
    }
}
